"""Readers that layer streams pass through: tee into the content store, sniff gzip, hash the diffID."""
from __future__ import annotations

import gzip
import hashlib
import types
from typing import IO, BinaryIO, Protocol, cast

from .limits import CountIn, CountOut, Meter

_gzip_impl: types.ModuleType
try:  # isal decompresses gzip 2-3x faster than zlib; optional.
    from isal import igzip as _gzip_impl
except ImportError:  # pragma: no cover - depends on the host
    _gzip_impl = gzip

_CHUNK = 1 << 20


class Sink(Protocol):
    def write(self, data: bytes) -> int: ...


class TeeReader:
    """Passes reads through and copies every byte read into `sink` (e.g. a content Writer)."""

    def __init__(self, raw: BinaryIO, sink: Sink | None) -> None:
        self._raw = raw
        self._sink = sink
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if data:
            self.size += len(data)
            if self._sink is not None:
                self._sink.write(data)
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


class PeekReader:
    """A reader that lets the first bytes be looked at before they are consumed."""

    def __init__(self, raw: BinaryIO | TeeReader, peek: int = 4) -> None:
        self._raw = raw
        self._head = b""
        while len(self._head) < peek:
            more = raw.read(peek - len(self._head))
            if not more:
                break
            self._head += more

    def peek(self) -> bytes:
        return self._head

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0:
                data, self._head = self._head + self._raw.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            if len(data) < n:
                data += self._raw.read(n - len(data))
            return data
        return self._raw.read(n)

    def readinto(self, buf: bytearray | memoryview) -> int:
        # isal's GzipFile reads its input through readinto, the stdlib one through read
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True


class HashReader:
    """Hashes (sha256) and counts what is read through it: the diffID of a layer."""

    def __init__(self, raw: object) -> None:
        self._raw = raw
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)  # type: ignore[attr-defined]
        if data:
            self._hash.update(data)
            self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


def is_gzip(head: bytes) -> bool:
    return head[:2] == b"\x1f\x8b"


def decompressed(raw: BinaryIO | TeeReader, meter: Meter | None = None) -> tuple[object, str]:
    """Wrap `raw` so reads return the uncompressed tar; returns (reader, media kind).

    With a `meter`, bytes in and out are counted and a read past its limits raises.
    """
    if meter is None:
        return _decompressed(raw)
    plain, media = _decompressed(CountIn(raw, meter))  # type: ignore[arg-type]
    return CountOut(plain, meter), media


def _decompressed(raw: BinaryIO | TeeReader) -> tuple[object, str]:
    peek = PeekReader(raw)
    head = peek.peek()
    if is_gzip(head):
        return _gzip_impl.GzipFile(fileobj=peek, mode="rb"), "gzip"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        try:
            import zstandard
        except ImportError:
            from ..errors import InvalidParameter
            raise InvalidParameter("zstd-compressed layers are not supported on this host") from None
        return zstandard.ZstdDecompressor().stream_reader(cast(IO[bytes], peek)), "zstd"  # PeekReader reads like one
    return peek, "none"
