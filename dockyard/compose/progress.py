"""Progress lines as Compose v2 prints them in plain mode: ` Container p-web-1  Started`, on stderr."""
from __future__ import annotations

import sys
import threading
from typing import TextIO


class Reporter:
    def __init__(self, out: TextIO | None = None, quiet: bool = False) -> None:
        self.out = out or sys.stderr
        self.quiet = quiet
        self.lock = threading.Lock()

    def event(self, kind: str, name: str, status: str) -> None:
        if self.quiet:
            return
        with self.lock:
            self.out.write(f" {kind} {name}  {status}\n")
            self.out.flush()

    def warn(self, text: str) -> None:
        with self.lock:
            self.out.write(f"WARN[0000] {text}\n")
            self.out.flush()
