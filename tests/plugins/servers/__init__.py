"""Test plugin servers, each a real process: `PluginProcess` starts one on a unix socket, waits
until it answers, and ends it by its PID (also on a failed test)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SERVERS = Path(__file__).resolve().parent


def _answers(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class PluginProcess:
    def __init__(self, server: str, socket_path: str, *args: str, calls_log: str | None = None) -> None:
        self.script = str(SERVERS / f"{server}.py")
        self.socket_path = socket_path
        self.args = list(args) + (["--calls-log", calls_log] if calls_log else [])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "PluginProcess":
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        self.proc = subprocess.Popen([sys.executable, self.script, "--socket", self.socket_path, *self.args])
        deadline = time.monotonic() + 20
        while not _answers(self.socket_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"plugin server {self.script} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def __enter__(self) -> "PluginProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
