"""One conformance suite for every log driver in logging.drivers.BUILTIN: what is written reads back
(the remote drivers from their local cache, with their receiver dead), across rotations too."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from dockyard import errors
from dockyard.logging import drivers
from dockyard.logging.driver import LogDriver
from dockyard.logging.options import Info
from dockyard.timefmt import parse_rfc3339_ns

T0 = 1_700_000_000_000_000_000
# A remote driver's receiver: nobody listens on port 9 (discard) of loopback here.
DEAD = {"syslog": {"syslog-address": "udp://127.0.0.1:9"}, "gelf": {"gelf-address": "udp://127.0.0.1:9"},
        "fluentd": {"fluentd-address": "tcp://127.0.0.1:9", "fluentd-async": "true", "fluentd-max-retries": "1",
                    "fluentd-retry-wait": "10ms"},
        "journald": {}}
ROTATING = {"max-size": "4k", "max-file": "3"}
READABLE = [d.name for d in drivers.BUILTIN if d.readable]


@pytest.fixture(params=READABLE)
def driver(request: pytest.FixtureRequest) -> LogDriver:
    return drivers.get(request.param)


def _config(driver: LogDriver, extra: dict[str, str] | None = None) -> dict[str, str]:
    cfg = dict(DEAD.get(driver.name, {}))
    for k, v in (extra or {}).items():
        cfg[k if driver.name in ("json-file", "local") else "cache-" + k] = v
    return driver.validate(cfg)


def _path(driver: LogDriver, tmp: Path) -> str:
    return driver.log_path(str(tmp), "c" * 64)


def _run(fn: Any) -> Any:
    """Writers of remote drivers deliver from the supervisor's event loop: run them in one."""
    async def inside() -> Any:
        return fn()
    return asyncio.run(inside())


def _write(driver: LogDriver, path: str, config: dict[str, str]) -> None:
    def go() -> None:
        w = driver.open_writer(path, config, Info(id="c" * 64, name="conf"))
        w.write("stdout", b"one\ntw", T0)
        w.write("stdout", b"o\n", T0 + 1)
        w.write("stderr", b"err\n", T0 + 2)
        w.write("stdout", b"partial", T0 + 3)
        w.flush("stdout", T0 + 4)
        w.close()
    _run(go)


def _read(driver: LogDriver, path: str, **kw: Any) -> list[Any]:
    r = driver.reader(path, **kw)
    try:
        return [e for batch in r.batches() for e in batch]
    finally:
        r.cursor.close()


def test_entries_read_back_in_order_with_streams_and_times(driver: LogDriver, tmp_path: Path) -> None:
    path = _path(driver, tmp_path)
    _write(driver, path, _config(driver))
    entries = _read(driver, path)
    assert [(e.stream, e.data) for e in entries] == [
        ("stdout", b"one\n"), ("stdout", b"two\n"), ("stderr", b"err\n"), ("stdout", b"partial")]
    assert parse_rfc3339_ns(entries[0].time) == T0


def test_tail_and_time_window(driver: LogDriver, tmp_path: Path) -> None:
    path = _path(driver, tmp_path)
    _write(driver, path, _config(driver))
    assert [e.data for e in _read(driver, path, tail=1)] == [b"partial"]
    assert _read(driver, path, tail=0) == []
    assert [e.data for e in _read(driver, path, since=T0 + 2, until=T0 + 2)] == [b"err\n"]


def test_follow_returns_what_is_written_after_the_cursor(driver: LogDriver, tmp_path: Path) -> None:
    path = _path(driver, tmp_path)
    config = _config(driver)
    _write(driver, path, config)
    r = driver.reader(path)
    list(r.batches())

    async def collect() -> list[bytes]:
        w = driver.open_writer(path, config, Info(id="c" * 64))
        w.write("stdout", b"later\n", T0 + 10)
        w.close()
        return [e.data async for e in driver.follow(r.cursor, lambda: False)]
    assert asyncio.run(collect()) == [b"later\n"]


def test_rotation_keeps_the_newest_lines_readable_with_tail_and_follow(driver: LogDriver, tmp_path: Path) -> None:
    path = _path(driver, tmp_path)
    config = _config(driver, {**ROTATING, "compress": "true"})
    lines = [b"line %04d %s\n" % (i, b"x" * 40) for i in range(300)]

    async def go() -> tuple[list[bytes], list[bytes]]:
        w = driver.open_writer(path, config, Info(id="c" * 64))
        for i, line in enumerate(lines[:200]):
            w.write("stdout", line, T0 + i)
        r = driver.reader(path, tail=5)
        tailed = [e.data for b in r.batches() for e in b]
        done = False
        followed: list[bytes] = []

        async def more() -> None:
            # In steps the follower catches up after: one rotation in a step, or two (70 lines are
            # more than a 4k file holds), which the follower finds in the generation between.
            nonlocal done
            n = 200
            for step in (3, 70, 5, 3, 19):
                for line in lines[n:n + step]:
                    w.write("stdout", line, T0 + n)
                    n += 1
                while len(followed) < n - 200:
                    await asyncio.sleep(0.01)
            w.close()
            done = True
        task = asyncio.ensure_future(more())
        async for e in driver.follow(r.cursor, lambda: not done):
            followed.append(e.data)
        await task
        return tailed, followed
    tailed, followed = asyncio.run(go())
    assert tailed == lines[195:200]
    assert followed == lines[200:]
    everything = [e.data for e in _read(driver, path)]
    assert everything == lines[-len(everything):] and 20 < len(everything) < 200  # bounded: older ones gone
    assert [e.data for e in _read(driver, path, tail=40)] == lines[-40:]  # across generations


def test_an_unknown_option_is_dockers_message(driver: LogDriver) -> None:
    with pytest.raises(errors.InvalidParameter, match=f"unknown log opt 'foo' for {driver.name} log driver"):
        driver.validate({**DEAD.get(driver.name, {}), "foo": "1"})


def test_the_none_driver_keeps_nothing_and_says_it_cannot_be_read(tmp_path: Path) -> None:
    none = drivers.get("none")
    assert none.log_path(str(tmp_path), "c" * 64) == "" and not none.readable
    assert drivers.open_writer("", {"Type": "none", "Config": {}}) is None
    with pytest.raises(errors.NotImplementedYet, match="does not support reading"):
        none.reader("")


def test_an_unregistered_driver_is_dockers_message() -> None:
    with pytest.raises(errors.InvalidParameter, match="no log driver named 'awslogs' is registered"):
        drivers.get("awslogs")
    assert drivers.get("").name == drivers.DEFAULT
