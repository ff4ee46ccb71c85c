"""Every log driver built in, registered from this one list (info's Plugins.Log, LogConfig.Type)."""
from __future__ import annotations

from typing import AsyncIterator, Callable

from ..errors import InvalidParameter
from . import reader
from .driver import LogDriver, LogWriter
from .jsonfile import JsonFileWriter


class JsonFileDriver:
    """Docker's default: one JSON object per line of output, under the container's directory."""

    name = "json-file"

    def open_writer(self, path: str) -> LogWriter:
        return JsonFileWriter(path)

    def read(self, path: str, tail: int | None = None, since: int = 0,
             until: int | None = None) -> tuple[list[reader.Entry], int]:
        return reader.read(path, tail, since, until)

    def follow(self, path: str, offset: int, running: Callable[[], bool], since: int = 0,
               until: int | None = None) -> AsyncIterator[reader.Entry]:
        return reader.follow(path, offset, running, since, until)


BUILTIN: tuple[LogDriver, ...] = (JsonFileDriver(),)
DEFAULT = JsonFileDriver.name


def names() -> list[str]:
    return [d.name for d in BUILTIN]


def get(name: str) -> LogDriver:
    """The driver called `name` ("" is the default); Docker's message for one not registered."""
    wanted = name or DEFAULT
    for driver in BUILTIN:
        if driver.name == wanted:
            return driver
    raise InvalidParameter(f"failed to create logger: logger: no log driver named '{wanted}' is registered")
