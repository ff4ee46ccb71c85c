"""Reading json-file logs: tail, time windows, torn lines, and following a growing file."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from dockyard.logging import jsonfile, reader
from dockyard.timefmt import parse_rfc3339_ns

pytestmark = pytest.mark.timeout(60)

BASE = "2026-01-01T00:00:"
CODEC = jsonfile.JsonCodec()


def read(path: str, tail: int | None = None, since: int = 0,
         until: int | None = None) -> tuple[list[reader.Entry], int]:
    """A whole read and the offset in the current file where a follow would go on."""
    entries, cursor = reader.read(path, CODEC, tail, since, until)
    cursor.close()
    return entries, cursor.offset


def follow(path: str, offset: int, running, since: int = 0, until: int | None = None, interval: float = 0.05):
    return reader.follow(reader.Cursor(path, None, offset), CODEC, running, since, until, interval)


def line(i: int, stream: str = "stdout", text: str | None = None) -> bytes:
    """Docker's json-file format; entry i is stamped at second i (nanosecond 1)."""
    ts = f"{BASE}{i:02d}.000000001Z" if i < 60 else f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000000001Z"
    return (json.dumps({"log": (text if text is not None else f"line {i}") + "\n",
                        "stream": stream, "time": ts}, separators=(",", ":")) + "\n").encode()


def write_log(path: Path, n: int) -> bytes:
    data = b"".join(line(i, "stderr" if i % 2 else "stdout") for i in range(n))
    path.write_bytes(data)
    return data


def texts(entries: list[reader.Entry]) -> list[str]:
    return [e.data.decode() for e in entries]


@pytest.fixture
def log10(tmp_path: Path) -> Path:
    p = tmp_path / "c-json.log"
    write_log(p, 10)
    return p


def test_format_is_parsed(log10: Path) -> None:
    entries, _ = read(str(log10), tail=2)
    assert entries[0] == reader.Entry("stdout", "2026-01-01T00:00:08.000000001Z", b"line 8\n")
    assert entries[1].stream == "stderr"


def test_read_all(log10: Path) -> None:
    entries, offset = read(str(log10))
    assert texts(entries) == [f"line {i}\n" for i in range(10)]
    assert offset == log10.stat().st_size
    entries, offset = read(str(log10), tail=-1)  # Docker's "all"
    assert len(entries) == 10 and offset == log10.stat().st_size


@pytest.mark.parametrize("tail,expected", [(1, [9]), (5, [5, 6, 7, 8, 9]), (10, list(range(10))),
                                           (11, list(range(10))), (1000, list(range(10)))])
def test_tail(log10: Path, tail: int, expected: list[int]) -> None:
    entries, offset = read(str(log10), tail=tail)
    assert texts(entries) == [f"line {i}\n" for i in expected]
    assert offset == log10.stat().st_size


def test_tail_zero_returns_nothing_and_offset_at_end(log10: Path) -> None:
    entries, offset = read(str(log10), tail=0)
    assert entries == [] and offset == log10.stat().st_size


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert read(str(tmp_path / "nope.log")) == ([], 0)
    assert read(str(tmp_path / "nope.log"), tail=3) == ([], 0)


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "e.log"
    p.write_bytes(b"")
    assert read(str(p), tail=5) == ([], 0)


def test_since_and_until_window(log10: Path) -> None:
    t = parse_rfc3339_ns
    entries, _ = read(str(log10), since=t(f"{BASE}03Z"))
    assert texts(entries) == [f"line {i}\n" for i in range(3, 10)]
    entries, _ = read(str(log10), until=t(f"{BASE}04.5Z"))
    assert texts(entries) == [f"line {i}\n" for i in range(0, 5)]
    entries, _ = read(str(log10), since=t(f"{BASE}02Z"), until=t(f"{BASE}05.5Z"))
    assert texts(entries) == [f"line {i}\n" for i in (2, 3, 4, 5)]
    entries, _ = read(str(log10), since=t(f"{BASE}30Z"))
    assert entries == []


def test_window_bounds_are_nanosecond_exact(log10: Path) -> None:
    # Docker: an entry is shown if !ts.Before(since) && !ts.After(until)
    entries, _ = read(str(log10), until=parse_rfc3339_ns(f"{BASE}04Z"))
    assert texts(entries) == [f"line {i}\n" for i in range(0, 4)]


def test_tail_applies_before_the_window(log10: Path) -> None:
    # Docker counts the tail in lines of the file, then filters by time
    entries, _ = read(str(log10), tail=3, since=parse_rfc3339_ns(f"{BASE}08Z"))
    assert texts(entries) == ["line 8\n", "line 9\n"]


def test_torn_last_line_is_skipped_and_its_offset_not_consumed(log10: Path) -> None:
    complete = log10.stat().st_size
    torn = line(10)[:25]
    with open(log10, "ab") as f:
        f.write(torn)
    for tail in (None, 2, 100):
        entries, offset = read(str(log10), tail=tail)
        assert texts(entries)[-1] == "line 9\n", tail
        assert offset == complete, tail
    # the writer finishes the line: reading on from the offset yields it whole
    with open(log10, "ab") as f:
        f.write(line(10)[25:])
    entries, offset = read(str(log10))
    assert texts(entries)[-1] == "line 10\n" and offset == log10.stat().st_size


def test_tail_counts_a_torn_last_line(log10: Path) -> None:
    with open(log10, "ab") as f:
        f.write(line(10)[:25])
    entries, _ = read(str(log10), tail=2)
    # the torn line is one of the last two lines of the file but cannot be shown
    assert texts(entries) in (["line 9\n"], ["line 8\n", "line 9\n"])


def test_garbage_line_in_the_middle_is_skipped(tmp_path: Path) -> None:
    p = tmp_path / "g.log"
    p.write_bytes(line(0) + b"not json\n" + line(1))
    entries, offset = read(str(p))
    assert texts(entries) == ["line 0\n", "line 1\n"] and offset == p.stat().st_size


def test_non_ascii_and_partial_line_content(tmp_path: Path) -> None:
    p = tmp_path / "u.log"
    p.write_bytes(line(0, text="héllo ✓") + (json.dumps(
        {"log": "no newline", "stream": "stdout", "time": f"{BASE}01.5Z"}) + "\n").encode())
    entries, _ = read(str(p))
    assert entries[0].data == "héllo ✓\n".encode()
    assert entries[1].data == b"no newline"


def test_big_log_tail_is_correct_and_reads_backwards(tmp_path: Path) -> None:
    p = tmp_path / "big.log"
    n = 200_000
    with open(p, "wb") as f:
        f.write(b"".join(
            (f'{{"log":"big line {i}\\n","stream":"stdout","time":"2026-01-01T00:00:00.000000001Z"}}\n').encode()
            for i in range(n)))
    start = time.perf_counter()
    entries, offset = read(str(p), tail=3)
    elapsed = time.perf_counter() - start
    assert texts(entries) == [f"big line {i}\n" for i in (n - 3, n - 2, n - 1)]
    assert offset == p.stat().st_size
    assert elapsed < 1.0, f"tail=3 of {n} lines took {elapsed:.2f}s: not reading from the end?"
    # a tail that spans several 64 KiB blocks
    entries, _ = read(str(p), tail=5000)
    assert len(entries) == 5000 and entries[0].data == f"big line {n - 5000}\n".encode()


def test_tail_across_block_boundary(tmp_path: Path) -> None:
    # lines sized so newlines fall exactly at a 64 KiB block boundary
    p = tmp_path / "edge.log"
    pad = jsonfile.BLOCK // 4
    rows = []
    for i in range(12):
        body = json.dumps({"log": "", "stream": "stdout", "time": f"{BASE}{i:02d}Z"}, separators=(",", ":"))
        body = body[:-1] + ',"x":"' + "y" * (pad - len(body) - 8) + '"}'
        rows.append(body.encode() + b"\n")
    assert all(len(r) == pad for r in rows), [len(r) for r in rows]
    p.write_bytes(b"".join(rows))
    for tail in (1, 3, 4, 5, 8, 12, 13):
        entries, _ = read(str(p), tail=tail)
        assert [e.time for e in entries] == [f"{BASE}{i:02d}Z" for i in range(max(0, 12 - tail), 12)], tail


# --- follow --------------------------------------------------------------------------------

def test_follow_yields_appended_lines_and_ends_after_drain(log10: Path) -> None:
    _, offset = read(str(log10), tail=0)
    stopped = threading.Event()

    async def main() -> list[str]:
        got: list[str] = []

        async def writer() -> None:
            with open(log10, "ab") as f:
                for i in range(10, 15):
                    f.write(line(i))
                    f.flush()
                    await asyncio.sleep(0.02)
                # a line written in two pieces: the reader must wait for the rest
                half = line(15)
                f.write(half[:20])
                f.flush()
                await asyncio.sleep(0.15)
                f.write(half[20:] + line(16))
                f.flush()
            stopped.set()  # the container exits; lines 15 and 16 are still unread

        task = asyncio.create_task(writer())
        async for entry in follow(str(log10), offset, lambda: not stopped.is_set(),
                                         interval=0.01):
            got.append(entry.data.decode())
        await task
        return got

    got = asyncio.run(asyncio.wait_for(main(), 20))
    assert got == [f"line {i}\n" for i in range(10, 17)]


def test_follow_ends_when_not_running_and_nothing_new(log10: Path) -> None:
    async def main() -> list[reader.Entry]:
        return [e async for e in follow(str(log10), log10.stat().st_size, lambda: False)]
    assert asyncio.run(asyncio.wait_for(main(), 5)) == []


def test_follow_drains_everything_written_before_stop(log10: Path) -> None:
    async def main() -> list[reader.Entry]:
        return [e async for e in follow(str(log10), 0, lambda: False)]
    entries = asyncio.run(asyncio.wait_for(main(), 5))
    assert texts(entries) == [f"line {i}\n" for i in range(10)]


def test_follow_applies_the_window(log10: Path) -> None:
    async def main() -> list[reader.Entry]:
        return [e async for e in follow(str(log10), 0, lambda: False,
                                               since=parse_rfc3339_ns(f"{BASE}07Z"))]
    assert texts(asyncio.run(main())) == ["line 7\n", "line 8\n", "line 9\n"]


def test_follow_large_backlog(tmp_path: Path) -> None:
    p = tmp_path / "backlog.log"
    p.write_bytes(b"".join(line(i % 60) for i in range(20_000)))  # > BLOCK*4 bytes

    async def main() -> int:
        return len([e async for e in follow(str(p), 0, lambda: False)])
    assert p.stat().st_size > jsonfile.BLOCK * 4
    assert asyncio.run(main()) == 20_000
