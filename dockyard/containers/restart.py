"""Restart policies (no, always, unless-stopped, on-failure[:N]) and Docker's back-off between restarts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FIRST_DELAY = 0.1       # seconds; doubles after each restart that ran less than RESET_AFTER
MAX_DELAY = 60.0
RESET_AFTER = 10.0      # a container that stayed up this long starts over from FIRST_DELAY


def policy(host_config: dict[str, Any]) -> tuple[str, int]:
    p = host_config.get("RestartPolicy") or {}
    return (p.get("Name") or "no"), int(p.get("MaximumRetryCount") or 0)


def should_restart(host_config: dict[str, Any], exit_code: int, restart_count: int,
                   manually_stopped: bool) -> bool:
    """After an exit the daemon did not ask for: does the policy bring the container back?"""
    name, retries = policy(host_config)
    if manually_stopped or host_config.get("AutoRemove"):
        return False
    if name in ("always", "unless-stopped"):
        return True
    if name == "on-failure":
        return exit_code != 0 and (retries <= 0 or restart_count < retries)
    return False


def start_on_daemon_start(host_config: dict[str, Any], manually_stopped: bool) -> bool:
    """`always` comes back when the daemon starts even after a `docker stop`; `unless-stopped`
    only if nobody stopped it."""
    name, _ = policy(host_config)
    return name == "always" or (name == "unless-stopped" and not manually_stopped)


@dataclass
class Backoff:
    delay: float = 0.0

    def next(self, ran_for: float) -> float:
        """The wait before the next start, given how long the last run lasted."""
        if ran_for >= RESET_AFTER or self.delay == 0.0:
            self.delay = FIRST_DELAY
        else:
            self.delay = min(self.delay * 2, MAX_DELAY)
        return self.delay
