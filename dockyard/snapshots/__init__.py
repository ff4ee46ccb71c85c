"""Storage drivers (overlay, vfs): layer apply with whiteouts, container layers, diffs."""
from .apply import ApplyResult, apply_layer, clean_name
from .driver import Driver, Mount, PendingLayer, new_driver

__all__ = ["ApplyResult", "Driver", "Mount", "PendingLayer", "apply_layer", "clean_name", "new_driver"]
