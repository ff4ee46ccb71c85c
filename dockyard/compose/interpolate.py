"""Variable interpolation: $VAR, ${VAR}, ${VAR:-x}, ${VAR-x}, ${VAR:?e}, ${VAR?e}, ${VAR:+x}, ${VAR+x}, $$."""
from __future__ import annotations

import re
from typing import Any, Mapping

from dockyard.compose.errors import ComposeError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = (":-", ":?", ":+", "-", "?", "+")


class _Invalid(Exception):
    pass


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` matching the `${` whose body starts at `start` (defaults may nest)."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _Invalid(text[start - 2:])


def _braced(body: str, env: Mapping[str, str], where: str) -> str:
    m = _NAME.match(body)
    if not m:
        raise _Invalid("${" + body + "}")
    name, rest = m.group(0), body[m.end():]
    value = env.get(name)
    if not rest:
        return value or ""
    op = next((o for o in _OPS if rest.startswith(o)), None)
    if op is None:
        raise _Invalid("${" + body + "}")
    arg = rest[len(op):]
    unset = value is None or (op.startswith(":") and value == "")
    if op in (":-", "-"):
        return _expand(arg, env, where) if unset else str(value)
    if op in (":+", "+"):
        return "" if unset else _expand(arg, env, where)
    if unset:  # :? and ?
        message = _expand(arg, env, where)
        detail = f": {message}" if message else ""
        raise ComposeError(f"error while interpolating {where}: required variable {name} is missing a value{detail}")
    return str(value)


def _expand(text: str, env: Mapping[str, str], where: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        if text.startswith("$$", j):
            out.append("$")
            i = j + 2
        elif text.startswith("${", j):
            end = _closing_brace(text, j + 2)
            out.append(_braced(text[j + 2:end], env, where))
            i = end + 1
        else:
            m = _NAME.match(text, j + 1)
            if not m:
                raise _Invalid(text[j:])
            out.append(env.get(m.group(0)) or "")
            i = m.end()
    return "".join(out)


def substitute(text: str, env: Mapping[str, str], where: str) -> str:
    """Interpolate one string; `where` (file and path) names it in errors."""
    if "$" not in text:
        return text
    try:
        return _expand(text, env, where)
    except _Invalid as exc:
        raise ComposeError(f"invalid interpolation format for {where}.\n"
                           f"You may need to escape any $ with another $.\n{exc}") from None


def interpolate(value: Any, env: Mapping[str, str], where: str) -> Any:
    """Interpolate every string in a YAML tree (mapping values and list items; keys stay as written)."""
    if isinstance(value, str):
        return substitute(value, env, where)
    if isinstance(value, dict):
        return {k: interpolate(v, env, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, f"{where}[{n}]") for n, v in enumerate(value)]
    return value
