"""Dockyard's registry server: the OCI distribution spec v1.1 / Docker Registry HTTP API V2, its own process.

It imports nothing from the daemon side of Dockyard: it is a separate service with its own
storage, auth and HTTP layer (see docs/registry.md).
"""
