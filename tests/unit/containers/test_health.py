"""containers/health.py: config merge and validation, probes, state transitions (no daemon)."""
from __future__ import annotations

import pytest

from dockyard import errors
from dockyard.containers import health
from dockyard.containers.model import Container, State
from dockyard.timefmt import rfc3339


def _container(config: dict, started: float) -> Container:
    return Container(id="c" * 64, name="n", image="busybox", image_id="sha256:x", created=rfc3339(started),
                     path="sleep", args=["9"], config=config, host_config={},
                     state=State(status="running", started_at=rfc3339(started)))


def test_merge_fills_empty_fields_from_the_image():
    image = {"Test": ["CMD-SHELL", "true"], "Interval": 5, "Retries": 7}
    assert health.merge_config(None, image) == image
    assert health.merge_config({"Interval": 9}, image) == {"Test": ["CMD-SHELL", "true"], "Interval": 9,
                                                           "Retries": 7}
    assert health.merge_config({"Test": ["NONE"]}, image)["Test"] == ["NONE"]
    assert health.merge_config(None, None) is None


def test_validate_uses_dockers_messages():
    with pytest.raises(errors.InvalidParameter, match="Timeout in Healthcheck cannot be less than 1ms"):
        health.validate({"Timeout": 10})
    with pytest.raises(errors.InvalidParameter, match="Retries in Healthcheck cannot be negative"):
        health.validate({"Retries": -1})
    health.validate({"Test": ["CMD", "true"], "Interval": 1_000_000, "Retries": 0})


def test_probe_kinds_and_defaults():
    p = health.probe_for({"Healthcheck": {"Test": ["CMD-SHELL", "curl -f x"]}})
    assert p is not None and p.cmd == ["/bin/sh", "-c", "curl -f x"]
    assert (p.interval, p.timeout, p.retries, p.start_period, p.timeout_text) == (30, 30, 3, 0, "30s")
    p = health.probe_for({"Healthcheck": {"Test": ["CMD", "true", "x"]}, "Shell": ["/bin/bash", "-c"]})
    assert p is not None and p.cmd == ["true", "x"]
    assert health.probe_for({"Healthcheck": {"Test": ["NONE"]}}) is None
    assert health.probe_for({}) is None


def test_go_duration():
    assert [health.go_duration(n) for n in (500_000_000, 1_000_000_000, 90_000_000_000, 3_600_000_000_000,
                                            1_500_000_000)] == ["500ms", "1s", "1m30s", "1h0m0s", "1.5s"]


def test_start_period_failures_do_not_count_until_healthy():
    import time
    c = _container({}, time.time())
    probe = health.Probe(cmd=["false"], interval=1, timeout=1, start_period=60, retries=1, timeout_text="1s")
    c.state.health = health.fresh()
    fail = {"Start": rfc3339(), "End": rfc3339(), "ExitCode": 1, "Output": ""}
    assert health.record_result(c, probe, fail) is None
    assert c.state.health["FailingStreak"] == 0 and c.state.health["Status"] == "starting"
    ok = dict(fail, ExitCode=0)
    assert health.record_result(c, probe, ok) == "healthy"
    assert health.record_result(c, probe, fail) == "unhealthy"  # once healthy, the period is over
    for _ in range(6):
        health.record_result(c, probe, fail)
    assert len(c.state.health["Log"]) == health.MAX_LOG_ENTRIES
    assert c.state.describe().endswith("(unhealthy)") and health.status_of(c) == "unhealthy"


def test_state_round_trips_and_renders_health():
    c = _container({}, 0)
    assert "Health" not in c.state.to_api() and health.status_of(c) == "none"
    c.state.health = health.fresh()
    again = Container.from_record(c.to_record())
    assert again.state.to_api()["Health"] == {"Status": "starting", "FailingStreak": 0, "Log": []}
    assert again.state.describe().endswith("(health: starting)")
