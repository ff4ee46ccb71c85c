"""One conformance suite for every log driver in logging.drivers.BUILTIN: what is written reads back."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dockyard import errors
from dockyard.logging import drivers
from dockyard.logging.driver import LogDriver
from dockyard.timefmt import parse_rfc3339_ns

T0 = 1_700_000_000_000_000_000


@pytest.fixture(params=drivers.names())
def driver(request: pytest.FixtureRequest) -> LogDriver:
    return drivers.get(request.param)


def _write(driver: LogDriver, path: str) -> None:
    w = driver.open_writer(path)
    w.write("stdout", b"one\ntw", T0)
    w.write("stdout", b"o\n", T0 + 1)
    w.write("stderr", b"err\n", T0 + 2)
    w.write("stdout", b"partial", T0 + 3)
    w.flush("stdout", T0 + 4)
    w.close()


def test_entries_read_back_in_order_with_streams_and_times(driver: LogDriver, tmp_path: Path) -> None:
    path = str(tmp_path / "c.log")
    _write(driver, path)
    entries, offset = driver.read(path)
    assert [(e.stream, e.data) for e in entries] == [
        ("stdout", b"one\n"), ("stdout", b"two\n"), ("stderr", b"err\n"), ("stdout", b"partial")]
    assert offset > 0 and parse_rfc3339_ns(entries[0].time) == T0


def test_tail_and_time_window(driver: LogDriver, tmp_path: Path) -> None:
    path = str(tmp_path / "c.log")
    _write(driver, path)
    assert [e.data for e in driver.read(path, tail=1)[0]] == [b"partial"]
    assert driver.read(path, tail=0)[0] == []
    window = driver.read(path, since=T0 + 2, until=T0 + 2)[0]
    assert [e.data for e in window] == [b"err\n"]


def test_follow_returns_what_is_written_after_the_offset(driver: LogDriver, tmp_path: Path) -> None:
    path = str(tmp_path / "c.log")
    _write(driver, path)
    _entries, offset = driver.read(path)
    w = driver.open_writer(path)
    w.write("stdout", b"later\n", T0 + 10)
    w.close()

    async def collect() -> list[bytes]:
        return [e.data async for e in driver.follow(path, offset, lambda: False)]
    assert asyncio.run(collect()) == [b"later\n"]


def test_an_unregistered_driver_is_dockers_message() -> None:
    with pytest.raises(errors.InvalidParameter, match="no log driver named 'syslog' is registered"):
        drivers.get("syslog")
    assert drivers.get("").name == drivers.DEFAULT
