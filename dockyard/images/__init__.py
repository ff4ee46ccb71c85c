"""Images: references, configs, the image store, tags, history, save/load and GC."""
from .service import ImageService

__all__ = ["ImageService"]
