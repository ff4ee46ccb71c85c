"""Content-addressed blobs (ingest, verify digest, atomic commit)."""
from .store import ContentStore, Writer, check_digest

__all__ = ["ContentStore", "Writer", "check_digest"]
