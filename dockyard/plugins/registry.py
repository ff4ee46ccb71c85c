"""The daemon's plugins by name: found through discovery, activated lazily on first use
(`/Plugin.Activate`, its `Implements` list), and activated again when a call finds the plugin
gone (it restarted, maybe at a new address)."""
from __future__ import annotations

import logging
import threading
from typing import Any

from ..errors import NotFound
from .client import PluginClient, PluginError, PluginUnreachable, Timing
from .discovery import Discovery

log = logging.getLogger("dockyard.plugins")

# The kinds a plugin may implement (its Activate answer's Implements list).
KINDS = ("VolumeDriver", "NetworkDriver", "IpamDriver", "authz", "LogDriver", "MetricsCollector")


class Plugin:
    """One legacy plugin: its address and what it implements."""

    def __init__(self, name: str, discovery: Discovery, timing: Timing) -> None:
        self.name = name
        self._discovery = discovery
        self._timing = timing
        self._lock = threading.Lock()
        self.client: PluginClient | None = None
        self.implements: list[str] = []

    def activate(self) -> list[str]:
        """Run /Plugin.Activate (once, and again after the plugin went away); its Implements."""
        with self._lock:
            if self.client is not None:
                return self.implements
            addr = self._discovery.find(self.name)
            if addr is None:
                raise NotFound(f'plugin "{self.name}" not found')
            client = PluginClient(addr, self._timing)
            answer = client.call("Plugin.Activate", {})
            implements = answer.get("Implements") if isinstance(answer, dict) else None
            if not isinstance(implements, list) or not all(isinstance(k, str) for k in implements):
                raise PluginError(f"Plugin.Activate: plugin {self.name} answered without an Implements "
                                  f"list: {str(answer)[:80]}")
            self.client, self.implements = client, implements
            log.info("plugin %s activated at %s: %s", self.name, addr, ", ".join(implements))
            return implements

    def call(self, method: str, payload: Any = None) -> Any:
        """One protocol call; a plugin found gone is activated again and the call sent once more
        (safe: nothing reached it)."""
        self.activate()
        assert self.client is not None
        try:
            return self.client.call(method, payload)
        except PluginUnreachable:
            log.warning("plugin %s is gone; activating it again", self.name)
            with self._lock:
                self.client = None
            self.activate()
            assert self.client is not None
            return self.client.call(method, payload)


class PluginRegistry:
    def __init__(self, discovery: Discovery, timing: Timing = Timing()) -> None:
        self.discovery = discovery
        self.timing = timing
        self._plugins: dict[str, Plugin] = {}
        self._lock = threading.Lock()

    def get(self, name: str, kind: str) -> Plugin | None:
        """The plugin `name` if it implements `kind`; None when no plugin of that name exists.
        A plugin that exists but cannot be activated raises (PluginError)."""
        if self.discovery.find(name) is None:
            return None
        with self._lock:
            plugin = self._plugins.get(name)
            if plugin is None:
                plugin = self._plugins[name] = Plugin(name, self.discovery, self.timing)
        if kind not in plugin.activate():
            raise NotFound(f'plugin "{name}" not found: it does not implement {kind}')
        return plugin

    def active(self, kind: str) -> list[str]:
        """Names of the activated plugins that implement `kind` (as `info` lists them)."""
        with self._lock:
            return sorted(n for n, p in self._plugins.items() if kind in p.implements)

    def known(self) -> list[Plugin]:
        with self._lock:
            return list(self._plugins.values())
