"""Timestamps as the Engine API writes them: RFC 3339 with nanoseconds, UTC."""
from __future__ import annotations

import time
from datetime import datetime, timezone

ZERO = "0001-01-01T00:00:00Z"


def rfc3339(ts: float | None = None) -> str:
    """Format a unix time (seconds, float) like Go's time.RFC3339Nano in UTC."""
    if ts is None:
        return rfc3339_ns()
    # whole seconds and a microsecond-rounded fraction: a float has no nanoseconds to give
    whole = int(ts // 1)
    return rfc3339_ns(whole * 1_000_000_000 + round((ts - whole) * 1_000_000) * 1000)


def rfc3339_ns(ns: int | None = None, *, fixed: bool = False, digits: int = 9) -> str:
    """Format nanoseconds since the epoch (now if None) in UTC, the one formatter of the tree.

    Go's RFC3339Nano trims trailing zeros of the fraction (API times); fixed keeps all `digits`
    (Docker's json-file log stamps, RFC3339NanoFixed); digits=0 gives whole seconds.
    """
    if ns is None:
        ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(secs, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if digits <= 0:
        return base + "Z"
    fraction = f"{frac:09d}"[:digits]
    if not fixed:
        fraction = fraction.rstrip("0")
    return f"{base}.{fraction}Z" if fraction else base + "Z"


def parse_rfc3339(value: str) -> float:
    """Parse an RFC 3339 timestamp (any fraction length) into unix seconds; 0 for Go's zero time."""
    if not value or value.startswith("0001-01-01"):
        return 0.0
    value = value.strip()
    tz = 0.0
    if value.endswith("Z"):
        value = value[:-1]
    elif len(value) > 6 and value[-6] in "+-" and value[-3] == ":":
        sign = 1 if value[-6] == "+" else -1
        tz = sign * (int(value[-5:-3]) * 3600 + int(value[-2:]) * 60)
        value = value[:-6]
    whole, _, frac = value.partition(".")
    dt = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return dt.timestamp() + (float("0." + frac) if frac else 0.0) - tz


def parse_rfc3339_ns(value: str) -> int:
    """Like parse_rfc3339 but exact: integer nanoseconds since the epoch."""
    if not value or value.startswith("0001-01-01"):
        return 0
    head, dot, rest = value.partition(".")
    if not dot:
        return int(parse_rfc3339(value)) * 1_000_000_000
    digits = "".join(ch for ch in rest if ch.isdigit())
    zone = rest[len(digits):]
    seconds = int(parse_rfc3339(head + zone))
    return seconds * 1_000_000_000 + int((digits + "000000000")[:9])


def parse_time_ns(value: str) -> int:
    """A time from a query (`since`/`until`): unix seconds with optional fraction, or RFC 3339."""
    secs, dot, frac = value.partition(".")
    if secs.lstrip("-").isdigit() and (not dot or frac.isdigit()):
        return int(secs) * 1_000_000_000 + int((frac + "000000000")[:9])
    return parse_rfc3339_ns(value)


def human_duration(seconds: float) -> str:
    """Go's units.HumanDuration, which docker uses for "Up 3 seconds" and "2 hours ago"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(s / 3600 + 0.5)  # Go rounds half up
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(s / 3600) // 24 // 365} years"
