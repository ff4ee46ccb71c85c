"""Bounds on what one archive may unpack to (decompression bombs): total size, and ratio past a threshold.

Every unpack of untrusted bytes (import, load, pulled layers, PUT archive, build contexts,
ADD of a local archive) passes a `Meter`: it counts compressed bytes in and unpacked bytes
out and raises `UnpackLimitExceeded` the moment a limit is passed, so the caller's clean-up
removes what was written so far and nothing grows without bound first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidParameter

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_size(value: str | int) -> int:
    """Docker's RAMInBytes: "64g", "512m", "1024" (binary units, optional b/ib suffix)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"invalid size: {value}")
        return value
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*", str(value), re.IGNORECASE)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"invalid size: {value!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def human(n: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n} B"


class UnpackLimitExceeded(InvalidParameter):
    """An archive unpacks to more than the daemon allows; the message names the limit to raise."""


@dataclass(frozen=True)
class UnpackLimits:
    max_size: int = 64 << 30          # daemon.json max-unpack-size / --max-unpack-size
    max_ratio: float = 100.0          # max-unpack-ratio: unpacked bytes per compressed byte
    ratio_threshold: int = 1 << 30    # unpack-ratio-threshold: the ratio counts only past this

    def meter(self, what: str) -> "Meter":
        return Meter(self, what)


DEFAULT = UnpackLimits()


class Meter:
    """The running counts of one unpack; `what` names it in the error ("layer", "archive", ...)."""

    def __init__(self, limits: UnpackLimits, what: str) -> None:
        self.limits = limits
        self.what = what
        self.compressed = 0   # bytes read from the source, as sent
        self.stream = 0       # bytes of the uncompressed tar
        self.content = 0      # bytes of file content to write (sparse files count in full)

    @property
    def unpacked(self) -> int:
        return max(self.stream, self.content)

    def add_compressed(self, n: int) -> None:
        self.compressed += n

    def add_stream(self, n: int) -> None:
        self.stream += n
        self._check()

    def add_content(self, n: int) -> None:
        self.content += n
        self._check()

    def _check(self) -> None:
        lim, size = self.limits, self.unpacked
        if size > lim.max_size:
            raise UnpackLimitExceeded(
                f"the {self.what} unpacks to more than {human(lim.max_size)}, the daemon's max-unpack-size; "
                f"raise it with dockyardd --max-unpack-size or \"max-unpack-size\" in daemon.json")
        if size > lim.ratio_threshold and size > lim.max_ratio * max(self.compressed, 1):
            raise UnpackLimitExceeded(
                f"the {self.what} unpacks to more than {lim.max_ratio:g} times its compressed size "
                f"({human(size)} from {human(self.compressed)}), the daemon's max-unpack-ratio; "
                f"raise it with dockyardd --max-unpack-ratio or \"max-unpack-ratio\" in daemon.json")


class CountIn:
    """A reader that counts the compressed bytes taken from `raw` into `meter`."""

    def __init__(self, raw: object, meter: Meter) -> None:
        self._raw = raw
        self._meter = meter

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)  # type: ignore[attr-defined]
        self._meter.add_compressed(len(data))
        return data

    def readinto(self, buf: bytearray | memoryview) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True


class CountOut:
    """A reader that charges the uncompressed bytes read through it to `meter` (and may raise)."""

    def __init__(self, raw: object, meter: Meter) -> None:
        self._raw = raw
        self._meter = meter

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)  # type: ignore[attr-defined]
        self._meter.add_stream(len(data))
        return data

    def readable(self) -> bool:
        return True
