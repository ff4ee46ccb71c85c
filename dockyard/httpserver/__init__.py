"""Dockyard's one HTTP/1.1 server (h11 over asyncio streams): used by the Engine API and the registry.

A leaf: it imports nothing else from Dockyard, so the registry's own process and the daemon share it.
"""
from __future__ import annotations

from .connection import Connection, ConnectionSet, Handler, Profile, serve_tcp, split_listen
from .message import BodyTooLarge, FileBody, RawStream, Request, Response
from .tls import TLSStream, server_context

__all__ = ["BodyTooLarge", "Connection", "ConnectionSet", "FileBody", "Handler", "Profile", "RawStream",
           "Request", "Response", "TLSStream", "serve_tcp", "server_context", "split_listen"]
