"""Storage drivers (overlay, vfs): layer apply with whiteouts, container layers, diffs."""
from .apply import ApplyResult, apply_layer, clean_name
from .driver import Driver, Mount, PendingLayer
from .drivers import BUILTIN, new_driver, select

__all__ = ["ApplyResult", "BUILTIN", "Driver", "Mount", "PendingLayer", "apply_layer", "clean_name", "new_driver",
           "select"]
