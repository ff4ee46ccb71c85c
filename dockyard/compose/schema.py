"""Validation of one compose file against the Compose Specification's JSON schema, with errors naming file and path."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from dockyard.compose.errors import ComposeError

SCHEMA = Path(__file__).with_name("compose-spec.json")


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema  # imported only when a file is validated: it costs ~80 ms

    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))


def _path(error: Any) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(root)"


def _message(error: Any) -> str:
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        patterns = error.schema.get("patternProperties", {})
        import re

        extra = [k for k in error.instance if k not in allowed and not any(re.search(p, k) for p in patterns)]
        return f"additional properties {', '.join(repr(k) for k in extra)} not allowed"
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return f"must be a {' or '.join(kinds)}"
    return str(error.message)


def describe(error: Any) -> str:
    """`path message`; for oneOf, the branch that got furthest into the value says most."""
    if error.validator == "oneOf" and error.context:
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(error.absolute_path):
            return describe(deepest)
    return f"{_path(error)} {_message(error)}"


def validate(data: Any, source: str) -> None:
    """Raise ComposeError for the first schema violation of one file (after interpolation)."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: (-len(e.absolute_path), str(e.absolute_path)))
    if not errors:
        return
    import jsonschema

    raise ComposeError(f"validating {source}: {describe(jsonschema.exceptions.best_match(errors))}")
