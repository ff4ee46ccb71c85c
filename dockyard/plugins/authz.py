"""Authorization plugins (`--authorization-plugin`): every API request goes to each plugin's
AuthZPlugin.AuthZReq before it runs and AuthZPlugin.AuthZRes after, as Docker sends them.

A plugin that says no is Docker's "authorization denied by plugin NAME: MSG" (403). A plugin
that cannot be asked (gone, hanging, garbage) fails the request closed: "plugin NAME failed with
error: ..." (500); the daemon goes on answering, and asks the plugin again on the next request."""
from __future__ import annotations

import logging
from typing import Any

from ..errors import DockyardError, Forbidden, SystemFailure
from .registry import PluginRegistry

log = logging.getLogger("dockyard.plugins")

KIND = "authz"


class AuthorizationDenied(Forbidden):
    pass


class Authorizer:
    def __init__(self, registry: PluginRegistry, names: tuple[str, ...]) -> None:
        self.registry = registry
        self.names = names

    def __bool__(self) -> bool:
        return bool(self.names)

    def request(self, info: dict[str, Any]) -> None:
        """`info`: User, UserAuthNMethod, RequestMethod, RequestURI, RequestBody (base64),
        RequestHeaders. Raises when any plugin denies or cannot answer."""
        self._ask("AuthZPlugin.AuthZReq", info)

    def response(self, info: dict[str, Any]) -> None:
        """The request's `info` plus ResponseStatusCode, ResponseHeaders, ResponseBody."""
        self._ask("AuthZPlugin.AuthZRes", info)

    def _ask(self, method: str, info: dict[str, Any]) -> None:
        for name in self.names:
            try:
                plugin = self.registry.get(name, KIND)
                if plugin is None:
                    raise SystemFailure(f'plugin "{name}" not found')
                answer = plugin.call(method, info)
            except DockyardError as e:
                log.error("%s for %s %s returned error: %s", method.split(".")[-1],
                          info.get("RequestMethod"), info.get("RequestURI"), e.message)
                raise SystemFailure(f"plugin {name} failed with error: {e.message}") from None
            if not isinstance(answer, dict):
                raise SystemFailure(f"plugin {name} failed with error: {method}: answer is not a JSON object")
            if answer.get("Err"):
                raise SystemFailure(f"plugin {name} failed with error: {answer['Err']}")
            if answer.get("Allow") is not True:
                raise AuthorizationDenied(f"authorization denied by plugin {name}: {answer.get('Msg') or ''}")
