"""Known differences from dockerd 20.10, each with its reason (patterns over differ.py's lines).

A line is `call :: path :: what`; fnmatch patterns. Keep this list short: a difference is
fixed unless the reason below says why it cannot or should not be.
"""
from __future__ import annotations

ALLOWED: dict[str, str] = {
}
