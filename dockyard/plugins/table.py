"""A driver table: the built-in drivers of one kind, then plugins of that kind by name.

It is the `dict[name, driver]` a service already takes, so a service needs no change to use
plugins: a name that is no built-in is looked up as a plugin (activated on first use) and its
adapter is kept. Iterating lists the built-ins and every discoverable plugin of the kind."""
from __future__ import annotations

import logging
import threading
from typing import Callable, Generic, Iterator, Mapping, TypeVar

from ..errors import DockyardError
from .registry import Plugin, PluginRegistry

log = logging.getLogger("dockyard.plugins")

D = TypeVar("D")


class DriverTable(Mapping[str, D], Generic[D]):
    def __init__(self, builtin: Mapping[str, D], registry: PluginRegistry, kind: str,
                 adapter: Callable[[str, Plugin], D]) -> None:
        self._builtin = dict(builtin)
        self._registry = registry
        self._kind = kind
        self._adapter = adapter
        self._plugins: dict[str, D] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> D:
        if name in self._builtin:
            return self._builtin[name]
        with self._lock:
            if name in self._plugins:
                return self._plugins[name]
        plugin = self._registry.get(name, self._kind)  # raises when it exists but fails
        if plugin is None:
            raise KeyError(name)
        with self._lock:
            return self._plugins.setdefault(name, self._adapter(name, plugin))

    def __iter__(self) -> Iterator[str]:
        names = list(self._builtin)
        for name in self._registry.discovery.names():
            if name in self._builtin:
                continue
            try:
                self[name]
            except (KeyError, DockyardError) as e:  # another kind, or down: not listed
                log.debug("plugin %s not listed as a %s: %s", name, self._kind, e)
                continue
            names.append(name)
        return iter(names)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @property
    def builtins(self) -> Mapping[str, D]:
        return self._builtin

    def active(self) -> list[str]:
        """The built-ins and the plugins activated so far, without contacting any plugin."""
        with self._lock:
            return [*sorted(self._builtin), *sorted(self._plugins)]
