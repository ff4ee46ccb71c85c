from __future__ import annotations

import pytest

from dockyard import errors
from dockyard.containers.detachkeys import Scanner, parse


def test_parse():
    assert parse("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse("a,ctrl-@,ctrl-_,ctrl-[") == b"a\x00\x1f\x1b"
    for bad in ("", "ctrl-1", "ctrl-", "abc", "ctrl-p,,"):
        with pytest.raises(errors.InvalidParameter):
            parse(bad)


def test_scanner_passes_bytes_and_detects_split_sequence():
    s = Scanner(b"\x10\x11")
    assert s.feed(b"ab\x10") == (b"ab", False)
    assert s.feed(b"c") == (b"\x10c", False)      # a broken prefix is released
    assert s.feed(b"\x10") == (b"", False)
    assert s.feed(b"\x11rest") == (b"", True)
    assert Scanner(b"").feed(b"\x10\x11") == (b"\x10\x11", False)
