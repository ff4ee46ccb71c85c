"""Docker's human-readable durations, sizes, IDs and time formats (go-units semantics)."""
from __future__ import annotations

import datetime as _dt
import re

from ..timefmt import human_duration  # noqa: F401  (shared with the daemon: go-units semantics)

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def _go_round(x: float) -> int:
    """math.Round: half away from zero (Python's round() is half to even)."""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def go_format_g(value: float, precision: int) -> str:
    """Go's %.<precision>g (same as C's, which Python's %g follows)."""
    return "%.*g" % (precision, value)


def human_size(size: float, precision: int = 4) -> str:
    """go-units HumanSizeWithPrecision: decimal units, e.g. 1.24MB (docker images uses precision 3)."""
    i = 0
    while size >= 1000.0 and i < len(_DECIMAL_UNITS) - 1:
        size /= 1000.0
        i += 1
    return go_format_g(size, precision) + _DECIMAL_UNITS[i]


def bytes_size(size: float) -> str:
    """go-units BytesSize: binary units, e.g. 1.953GiB (used by `info`)."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
    i = 0
    while size >= 1024.0 and i < len(units) - 1:
        size /= 1024.0
        i += 1
    return go_format_g(size, 4) + units[i]


_RAM_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtpb]?)(?:i?b)?\s*$", re.IGNORECASE)


def ram_in_bytes(text: str) -> int:
    """go-units RAMInBytes: "64m", "1.5g", "512k", "100" (binary multiples)."""
    m = _RAM_RE.match(text)
    if not m:
        raise ValueError(f"invalid size: '{text}'")
    unit = m.group(2).lower() or "b"
    return int(float(m.group(1)) * _BINARY_UNITS[unit])


def truncate_id(ident: str) -> str:
    """stringid.TruncateID: drop the algorithm prefix and keep 12 characters."""
    if ":" in ident:
        ident = ident.split(":", 1)[1]
    return ident[:12]


def ellipsis(text: str, width: int) -> str:
    """Shorten to `width` characters, the last one being '…'."""
    if len(text) <= width:
        return text
    if width <= 0:
        return ""
    return text[: width - 1] + "…"


def parse_api_time(value: str | int | float | None) -> _dt.datetime | None:
    """An API timestamp (unix seconds or RFC 3339 with nanoseconds) as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", value)
    if not m:
        return None
    base, frac, zone = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    parsed = _dt.datetime.fromisoformat(base).replace(microsecond=micro)
    if zone in (None, "Z"):
        return parsed.replace(tzinfo=_dt.timezone.utc)
    return parsed.replace(tzinfo=_dt.datetime.fromisoformat("2000-01-01T00:00:00" + zone).tzinfo)


def since(value: str | int | float | None, now: _dt.datetime | None = None) -> str:
    """"5 seconds ago" for a timestamp, as `ps` CREATED and `images` CREATED show it."""
    when = parse_api_time(value)
    if when is None:
        return "N/A"
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return human_duration(max((now - when).total_seconds(), 0)) + " ago"


def go_time_string(value: str | int | float | None) -> str:
    """Go's time.Time.String() in local time: 2024-01-02 15:04:05 +0000 UTC."""
    when = parse_api_time(value)
    if when is None:
        return ""
    local = when.astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S %z ") + (local.tzname() or "")


def rfc3339(value: str | int | float | None) -> str:
    """time.RFC3339 in local time (history -H=false)."""
    when = parse_api_time(value)
    if when is None:
        return ""
    text = when.astimezone().isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float | None:
    """time.ParseDuration ("1h30m", "10s") in seconds, or None when it is not a duration."""
    if not text or _DURATION_RE.sub("", text.lstrip("-+")) != "":
        return None
    total = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_RE.findall(text))
    return -total if text.startswith("-") else total


def api_timestamp(value: str, now: float) -> str:
    """docker's GetTimestamp for --since/--until: durations are relative to now, dates become unix time."""
    duration = parse_go_duration(value)
    if duration is not None:
        t = now - duration
        return f"{int(t)}.{int(round((t - int(t)) * 1e9)):09d}"
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return value
    text = value
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        text += "T00:00:00"
    when = parse_api_time(text)
    if when is None and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\.\d+)?", text):
        local = _dt.datetime.fromisoformat(text.split(".")[0]).astimezone()
        return str(int(local.timestamp()))
    if when is None:
        raise ValueError(f"failed to parse value as time or duration: \"{value}\"")
    seconds = int(when.timestamp())
    nanos = (value.split(".", 1)[1].rstrip("Z")[:9] if "." in value else "").split("+")[0].split("-")[0]
    return f"{seconds}.{nanos.ljust(9, '0')}" if nanos else str(seconds)
