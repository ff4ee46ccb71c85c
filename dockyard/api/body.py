"""Typed access to JSON request bodies: a field of the wrong JSON type is a 400, worded as Go's decoder."""
from __future__ import annotations

from typing import Any

from .. import errors

# the Go type a Python type stands for in a message, and the JSON name of a decoded value's type
_GO_TYPES = {str: "string", bool: "bool", int: "int", dict: "map[string]interface {}", list: "[]string"}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def unmarshal_error(value: Any, struct: str, key: str, kind: type) -> errors.InvalidParameter:
    return errors.InvalidParameter(f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                                   f"{struct}.{key} of type {_GO_TYPES.get(kind, kind.__name__)}")


def json_object(body: Any, struct: str, required: bool = False) -> dict[str, Any]:
    """The decoded body as an object; `{}` for an absent optional body."""
    if body is None and not required:
        return {}
    if not isinstance(body, dict):
        raise errors.InvalidParameter(f"json: cannot unmarshal {_json_type(body)} into Go value of type "
                                      f"types.{struct}")
    return body


def field(body: dict[str, Any], key: str, kind: type, struct: str) -> Any:
    """`body[key]` if it has JSON type `kind`; None when missing or null; a 400 otherwise."""
    value = body.get(key)
    if value is None:
        return None
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise unmarshal_error(value, struct, key, kind)
    return value
