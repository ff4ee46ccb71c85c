"""Multiplexed stream framing: parse frames however the bytes are split."""
import io

import pytest

from dockyard.cli.streams import Demuxer, SystemFailure, demux_all, frame, pump


def test_frame_layout():
    assert frame(1, b"hi") == b"\x01\x00\x00\x00\x00\x00\x00\x02hi"


def test_demux_whole():
    data = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"")
    assert demux_all(data) == [(1, b"out\n"), (2, b"err\n"), (1, b"")]


@pytest.mark.parametrize("step", [1, 3, 7, 9, 100])
def test_demux_split_anywhere(step):
    data = frame(1, b"a" * 20) + frame(2, b"b" * 5) + frame(1, b"c")
    d = Demuxer()
    got = []
    for i in range(0, len(data), step):
        got += list(d.feed(data[i:i + step]))
    assert got == [(1, b"a" * 20), (2, b"b" * 5), (1, b"c")]
    assert d.pending == 0


def test_large_frame_length_is_big_endian():
    payload = b"x" * 70000
    assert demux_all(frame(2, payload)) == [(2, payload)]


def _reader(data, size=5):
    buf = io.BytesIO(data)
    return lambda: buf.read(size)


def test_pump_routes_streams():
    out, err = io.BytesIO(), io.BytesIO()
    pump(_reader(frame(1, b"o1") + frame(2, b"e1") + frame(1, b"o2")), True, out, err)
    assert out.getvalue() == b"o1o2" and err.getvalue() == b"e1"


def test_pump_raw_for_tty():
    out, err = io.BytesIO(), io.BytesIO()
    pump(_reader(b"\x01raw bytes"), False, out, err)
    assert out.getvalue() == b"\x01raw bytes" and err.getvalue() == b""


def test_pump_system_error_stream():
    with pytest.raises(SystemFailure, match="boom"):
        pump(_reader(frame(3, b"boom\n")), True, io.BytesIO(), io.BytesIO())
