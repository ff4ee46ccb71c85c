"""Storage backends of the registry: the `Storage` protocol and the list of drivers."""
from __future__ import annotations

from .base import Stat, Storage

__all__ = ["Stat", "Storage", "DRIVERS"]

# backend name -> "module:class"; imported only when chosen (boto3 is optional)
DRIVERS = {
    "filesystem": "dockyard.registry.storage.filesystem:FilesystemStorage",
    "s3": "dockyard.registry.storage.s3:S3Storage",
}
