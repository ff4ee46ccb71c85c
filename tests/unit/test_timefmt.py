"""RFC 3339 timestamps as Go writes them, and go-units' HumanDuration."""
from __future__ import annotations

import re
import time

import pytest

from dockyard.timefmt import ZERO, human_duration, parse_rfc3339, rfc3339, rfc3339_ns

T2026 = 1767225600  # 2026-01-01T00:00:00Z

GO_RFC3339NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,8}[1-9]|\.[1-9])?Z$")


# --- rfc3339 -------------------------------------------------------------------------------

@pytest.mark.parametrize("ts,expected", [
    (0, "1970-01-01T00:00:00Z"),
    (T2026, "2026-01-01T00:00:00Z"),
    (T2026 + 0.5, "2026-01-01T00:00:00.5Z"),
    (1.5, "1970-01-01T00:00:01.5Z"),
    (1.25, "1970-01-01T00:00:01.25Z"),
    (86399, "1970-01-01T23:59:59Z"),
    (951782400, "2000-02-29T00:00:00Z"),
])
def test_rfc3339_formats_like_go_rfc3339nano(ts: float, expected: str) -> None:
    assert rfc3339(ts) == expected


def test_rfc3339_now_is_utc_and_trimmed() -> None:
    before = time.time()
    s = rfc3339()
    after = time.time()
    assert GO_RFC3339NANO.match(s), s
    assert before - 1e-6 <= parse_rfc3339(s) <= after + 1e-6


@pytest.mark.parametrize("ts,expected", [
    (T2026 + 0.25, "2026-01-01T00:00:00.25Z"),
    (1.000001, "1970-01-01T00:00:01.000001Z"),
    (parse_rfc3339("2026-06-30T23:59:59.125Z"), "2026-06-30T23:59:59.125Z"),
])
def test_rfc3339_exact_fractions(ts: float, expected: str) -> None:
    assert rfc3339(ts) == expected


@pytest.mark.parametrize("s", [
    "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z", "1970-01-01T00:00:01.25Z",
    "2000-02-29T12:34:56.75Z",
])
def test_string_round_trip(s: str) -> None:
    assert rfc3339(parse_rfc3339(s)) == s


@pytest.mark.parametrize("ts", [0.0, 1.0, 1.5, T2026, T2026 + 0.123456, 4102444800.999])
def test_float_round_trip_within_a_microsecond(ts: float) -> None:
    assert abs(parse_rfc3339(rfc3339(ts)) - ts) < 1e-6


def test_parse_any_fraction_length_and_offsets() -> None:
    assert parse_rfc3339("2026-01-01T00:00:00Z") == T2026
    assert parse_rfc3339("2026-01-01T00:00:00.1Z") == pytest.approx(T2026 + 0.1, abs=1e-6)
    assert parse_rfc3339("2026-01-01T00:00:00.123456789Z") == pytest.approx(T2026 + 0.123456789, abs=1e-6)
    assert parse_rfc3339("2026-01-01T01:00:00+01:00") == T2026
    assert parse_rfc3339("2025-12-31T19:30:00-04:30") == T2026
    assert parse_rfc3339(" 2026-01-01T00:00:00Z ") == T2026


def test_go_zero_time_and_empty_are_zero() -> None:
    assert ZERO == "0001-01-01T00:00:00Z"
    assert parse_rfc3339(ZERO) == 0.0
    assert parse_rfc3339("") == 0.0


def test_parse_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_rfc3339("yesterday")


# --- human_duration: go-units HumanDuration's own test table -------------------------------

S, M, H = 1, 60, 3600
D = 24 * H
W, MO, Y = 7 * D, 30 * D, 365 * D

GO_UNITS_TABLE = [
    (0.45, "Less than a second"),
    (0, "Less than a second"),
    (1 * S, "1 second"),
    (1.9, "1 second"),
    (45 * S, "45 seconds"),
    (46 * S, "46 seconds"),
    (59 * S, "59 seconds"),
    (60 * S, "About a minute"),
    (119 * S, "About a minute"),
    (3 * M, "3 minutes"),
    (35 * M, "35 minutes"),
    (35 * M + 40 * S, "35 minutes"),
    (45 * M, "45 minutes"),
    (45 * M + 40 * S, "45 minutes"),
    (46 * M, "46 minutes"),
    (59 * M, "59 minutes"),
    (1 * H, "About an hour"),
    (1 * H + 29 * M, "About an hour"),
    (1 * H + 31 * M, "2 hours"),
    (1 * H + 59 * M, "2 hours"),
    (3 * H, "3 hours"),
    (3 * H + 29 * M, "3 hours"),
    (3 * H + 31 * M, "4 hours"),
    (3 * H + 59 * M, "4 hours"),
    (3 * H + 60 * M, "4 hours"),
    (24 * H, "24 hours"),
    (1 * D + 12 * H, "36 hours"),
    (2 * D, "2 days"),
    (7 * D, "7 days"),
    (13 * D + 5 * H, "13 days"),
    (2 * W, "2 weeks"),
    (2 * W + 4 * D, "2 weeks"),
    (3 * W, "3 weeks"),
    (4 * W, "4 weeks"),
    (4 * W + 3 * D, "4 weeks"),
    (1 * MO, "4 weeks"),
    (1 * MO + 2 * W, "6 weeks"),
    (2 * MO, "2 months"),
    (2 * MO + 2 * W, "2 months"),
    (3 * MO, "3 months"),
    (3 * MO + 1 * W, "3 months"),
    (5 * MO + 2 * W, "5 months"),
    (13 * MO, "13 months"),
    (23 * MO, "23 months"),
    (24 * MO, "24 months"),
    (24 * MO + 2 * W, "2 years"),
    (3 * Y + 2 * MO, "3 years"),
]


@pytest.mark.parametrize("seconds,expected", GO_UNITS_TABLE)
def test_human_duration_matches_go_units(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


@pytest.mark.parametrize("seconds,expected", [(2 * H + 30 * M, "3 hours"), (4 * H + 30 * M, "5 hours")])
def test_human_duration_rounds_half_hours_up_like_go(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_human_duration_half_hour_rounding_that_already_agrees() -> None:
    assert human_duration(1 * H + 30 * M) == "2 hours"   # round(1.5) == 2 either way
    assert human_duration(3 * H + 30 * M) == "4 hours"   # round(3.5) == 4 either way


@pytest.mark.parametrize("ns,kwargs,expected", [
    (1_500_000_000_120_000_000, {}, "2017-07-14T02:40:00.12Z"),             # Go RFC3339Nano trims zeros
    (1_500_000_000_000_000_000, {}, "2017-07-14T02:40:00Z"),                # no fraction at all
    (1_500_000_000_120_000_000, {"fixed": True}, "2017-07-14T02:40:00.120000000Z"),  # json-file stamps
    (0, {"fixed": True}, "1970-01-01T00:00:00.000000000Z"),
    (1_500_000_000_999_999_999, {"digits": 0}, "2017-07-14T02:40:00Z"),     # whole seconds, truncated
])
def test_rfc3339_ns_is_the_one_formatter(ns: int, kwargs: dict[str, object], expected: str) -> None:
    assert rfc3339_ns(ns, **kwargs) == expected  # type: ignore[arg-type]


def test_rfc3339_of_a_float_agrees_with_the_nanosecond_formatter() -> None:
    assert rfc3339(1_500_000_000.25) == rfc3339_ns(1_500_000_000_250_000_000)
