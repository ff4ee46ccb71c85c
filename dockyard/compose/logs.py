"""Service logs: one stream per container, split into lines and prefixed `name  | ` (coloured on a TTY)."""
from __future__ import annotations

import struct
import threading
from typing import Any, BinaryIO, Callable

from dockyard.compose.engine import Api, name_of

_HEADER = struct.Struct(">BxxxL")
# Compose's rotation of colours for prefixes: cyan, yellow, green, magenta, blue, then bright ones
COLOURS = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"]


class Printer:
    """Writes whole lines from many containers to one output without interleaving them."""

    def __init__(self, out: BinaryIO, names: list[str], colour: bool, prefix: bool = True) -> None:
        self.out = out
        self.lock = threading.Lock()
        width = max((len(n) for n in names), default=0)
        self.prefixes: dict[str, bytes] = {}
        for n, name in enumerate(sorted(names)):
            text = f"{name.ljust(width)}  | " if prefix else ""
            if colour and prefix:
                text = f"\x1b[{COLOURS[n % len(COLOURS)]}m{text}\x1b[0m"
            self.prefixes[name] = text.encode()

    def line(self, name: str, data: bytes) -> None:
        with self.lock:
            self.out.write(self.prefixes.get(name, f"{name}  | ".encode()) + data)
            if not data.endswith(b"\n"):
                self.out.write(b"\n")
            self.out.flush()


def _lines(read: Callable[[], bytes], multiplexed: bool, emit: Callable[[bytes], None]) -> None:
    buf = bytearray()
    pending = {1: bytearray(), 2: bytearray()}
    while True:
        chunk = read()
        if not chunk:
            break
        if not multiplexed:
            pending[1] += chunk
        else:
            buf += chunk
            while len(buf) >= _HEADER.size:
                stream, length = _HEADER.unpack_from(buf)
                if len(buf) < _HEADER.size + length:
                    break
                pending[2 if stream == 2 else 1] += buf[_HEADER.size:_HEADER.size + length]
                del buf[:_HEADER.size + length]
        for data in pending.values():
            while b"\n" in data:
                line, _, rest = bytes(data).partition(b"\n")
                emit(line + b"\n")
                data[:] = rest
    for data in pending.values():
        if data:
            emit(bytes(data))


def stream(api: Api, container: dict[str, Any], printer: Printer, *, follow: bool, tail: str = "all",
           since: str | None = None, timestamps: bool = False) -> None:
    """Copy one container's log to the printer until it ends (or, following, the container stops)."""
    name = name_of(container)
    tty = bool(((api.find(f"/containers/{container['Id']}/json") or {}).get("Config") or {}).get("Tty"))
    params = {"stdout": 1, "stderr": 1, "follow": int(follow), "tail": tail, "timestamps": int(timestamps)}
    if since:
        params["since"] = since
    try:
        resp = api.client.request("GET", f"/containers/{container['Id']}/logs", params)
    except api.error:
        return
    read = (lambda: resp.read1(65536)) if hasattr(resp, "read1") else (lambda: resp.read(65536))
    try:
        _lines(read, not tty, lambda line: printer.line(name, line))
    except (OSError, ValueError):
        pass
    finally:
        resp.close()


def follow_all(api: Api, containers: list[dict[str, Any]], printer: Printer, **kwargs: Any) -> list[threading.Thread]:
    threads = [threading.Thread(target=stream, args=(api, c, printer), kwargs=kwargs, daemon=True)
               for c in containers]
    for t in threads:
        t.start()
    return threads
