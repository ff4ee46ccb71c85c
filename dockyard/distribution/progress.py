"""Docker's JSON progress messages for pull and push: status lines, per-layer bars, errors."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

Emit = Callable[[dict[str, Any]], None]
_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BAR_WIDTH = 50


def human_size(size: float) -> str:
    """go-units HumanSize: decimal units, 4 significant digits (`32.77kB`, `2.2MB`)."""
    i = 0
    while size >= 1000 and i < len(_UNITS) - 1:
        size /= 1000
        i += 1
    return f"{size:.4g}{_UNITS[i]}"


def bar(current: int, total: int) -> str:
    """The `progress` string of a JSONProgress, as a daemon renders it (no time left)."""
    if total <= 0:
        return f"{human_size(current):>8}" if current > 0 else ""
    filled = min(int(current / total * 100) // 2, _BAR_WIDTH)
    box = f"[{'=' * filled}>{' ' * (_BAR_WIDTH - filled)}] "
    numbers = f"{human_size(current):>8}/{human_size(total)}" if current <= total else f"{human_size(current):>8}"
    return box + numbers


def status(text: str, ident: str | None = None) -> dict[str, Any]:
    """A plain status line (`Digest: ...`); with `ident` a per-layer line with empty detail."""
    if ident is None:
        return {"status": text}
    return {"status": text, "progressDetail": {}, "id": ident}


def progress(text: str, ident: str, current: int, total: int) -> dict[str, Any]:
    return {"status": text, "progressDetail": {"current": current, "total": total},
            "progress": bar(current, total), "id": ident}


def error(message: str) -> dict[str, Any]:
    return {"errorDetail": {"message": message}, "error": message}


class Meter:
    """Reports bytes moved for one layer, rate-limited like Docker's progress reader."""

    def __init__(self, emit: Emit, text: str, ident: str, total: int) -> None:
        self._emit = emit
        self.text = text
        self.ident = ident
        self.total = total
        self.current = 0
        self._last = 0
        self._last_time = 0.0
        self._step = max(512 * 1024, total // 100)
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.current += n
            now = time.monotonic()
            if self.current - self._last >= self._step and now - self._last_time >= 0.05 \
                    or self.current >= self.total > 0 and self._last < self.total:
                self._last, self._last_time = self.current, now
                self._emit(progress(self.text, self.ident, self.current, self.total))

    def reset(self) -> None:
        """A clean retry starts the count again."""
        with self._lock:
            self.current = self._last = 0
