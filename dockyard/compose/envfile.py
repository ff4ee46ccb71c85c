"""`.env` and `env_file` files: KEY=VALUE lines, quotes, `export`, comments, interpolation of earlier keys."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from dockyard.compose.errors import ComposeError

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*(?:([=:])\s*(.*))?$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$"}


def _double_quoted(raw: str) -> tuple[str, str]:
    """The value of a "..." string (escapes honoured) and what follows it."""
    out: list[str] = []
    i = 1
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if ch == '"':
            return "".join(out), raw[i + 1:]
        out.append(ch)
        i += 1
    raise ValueError("unterminated double-quoted value")


def parse(text: str, source: str, lookup: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Parse an env file; unquoted and double-quoted values are interpolated from earlier keys + lookup."""
    from dockyard.compose.interpolate import substitute

    values: dict[str, str | None] = {}
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        line = lines[n]
        n += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise ComposeError(f"failed to read {source}: line {n}: unexpected character in variable name {line.strip()!r}")
        key, sep, raw = m.group(1), m.group(2), (m.group(3) or "")
        if sep is None:
            values[key] = (lookup or {}).get(key)
            continue
        env = {**(lookup or {}), **{k: v for k, v in values.items() if v is not None}}
        if raw.startswith("'"):
            end = raw.find("'", 1)
            while end < 0 and n < len(lines):  # multi-line single-quoted value
                raw += "\n" + lines[n]
                n += 1
                end = raw.find("'", 1)
            if end < 0:
                raise ComposeError(f"failed to read {source}: line {n}: unterminated quoted value")
            values[key] = raw[1:end]
            continue
        if raw.startswith('"'):
            while True:
                try:
                    value, _ = _double_quoted(raw)
                    break
                except ValueError:
                    if n >= len(lines):
                        raise ComposeError(f"failed to read {source}: line {n}: unterminated quoted value") from None
                    raw += "\n" + lines[n]
                    n += 1
            values[key] = substitute(value, env, f"{source}: {key}")
            continue
        value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
        values[key] = substitute(value, env, f"{source}: {key}")
    return values


def read(path: Path, lookup: Mapping[str, str] | None = None, required: bool = True) -> dict[str, str | None]:
    """Read one env file; a missing required file is an error naming it."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        if not required:
            return {}
        raise ComposeError(f"env file {path} not found: stat {path}: no such file or directory") from None
    except IsADirectoryError:
        raise ComposeError(f"env file {path} is a directory") from None
    return parse(text, str(path), lookup)
