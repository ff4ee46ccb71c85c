"""Durations, sizes and timestamps formatted like docker (go-units)."""
import datetime as dt

import pytest

from dockyard.cli import humanize as h


@pytest.mark.parametrize("seconds,text", [
    (0.4, "Less than a second"), (1, "1 second"), (5, "5 seconds"), (59, "59 seconds"),
    (60, "About a minute"), (119, "About a minute"), (120, "2 minutes"), (59 * 60, "59 minutes"),
    (3600, "About an hour"), (5400, "2 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"),
    (14 * 86400, "2 weeks"), (60 * 86400, "2 months"), (800 * 86400, "2 years"),
])
def test_human_duration(seconds, text):
    assert h.human_duration(seconds) == text


@pytest.mark.parametrize("size,precision,text", [
    (0, 3, "0B"), (999, 3, "999B"), (1000, 3, "1kB"), (1234567, 3, "1.23MB"), (1240000, 3, "1.24MB"),
    (1978000, 3, "1.98MB"), (5_000_000_000, 3, "5GB"), (999_999, 3, "1e+03kB"), (1234567, 4, "1.235MB"),
])
def test_human_size(size, precision, text):
    assert h.human_size(size, precision) == text


@pytest.mark.parametrize("text,value", [
    ("64m", 64 * 1024 ** 2), ("64M", 64 * 1024 ** 2), ("1g", 1024 ** 3), ("512k", 512 * 1024),
    ("100", 100), ("1.5g", int(1.5 * 1024 ** 3)), ("64mb", 64 * 1024 ** 2),
])
def test_ram_in_bytes(text, value):
    assert h.ram_in_bytes(text) == value


def test_ram_in_bytes_rejects_garbage():
    with pytest.raises(ValueError):
        h.ram_in_bytes("lots")


def test_bytes_size():
    assert h.bytes_size(2 * 1024 ** 3) == "2GiB"


def test_truncate_id_and_ellipsis():
    assert h.truncate_id("sha256:0123456789abcdef0123") == "0123456789ab"
    assert h.truncate_id("0123456789abcdef") == "0123456789ab"
    assert h.ellipsis("sh -c echo out; echo err", 20) == "sh -c echo out; ech…"
    assert h.ellipsis("short", 20) == "short"


def test_since_parses_rfc3339_nano_and_unix():
    now = dt.datetime(2024, 1, 1, 0, 1, 0, tzinfo=dt.timezone.utc)
    assert h.since("2024-01-01T00:00:55.123456789Z", now) == "4 seconds ago"
    assert h.since(int(now.timestamp()) - 7200, now) == "2 hours ago"


def test_parse_go_duration():
    assert h.parse_go_duration("1h30m") == 5400
    assert h.parse_go_duration("10s") == 10
    assert h.parse_go_duration("2024-01-01") is None


def test_api_timestamp_relative_and_absolute():
    assert h.api_timestamp("10s", 1000.5) == "990.500000000"
    assert h.api_timestamp("1700000000", 0) == "1700000000"
    assert h.api_timestamp("2024-01-01T00:00:00Z", 0) == "1704067200"
    assert h.api_timestamp("2024-01-01T00:00:00.5Z", 0) == "1704067200.500000000"
    with pytest.raises(ValueError):
        h.api_timestamp("yesterday", 0)
