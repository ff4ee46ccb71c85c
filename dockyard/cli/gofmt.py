"""Go's fmt printing of values (%v, Sprint, Sprintf, Sprintln, strconv.Quote) and docker's `json`."""
from __future__ import annotations

import json
import re
from typing import Any

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
            "\\": "\\\\", '"': '\\"'}


def go_quote(text: str) -> str:
    """strconv.Quote: a double-quoted Go string literal; printable runes are kept."""
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def go_value(value: Any) -> str:
    """%v of a value decoded from JSON (or a formatting context)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{go_value(k)}:{go_value(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def go_sprint(*args: Any) -> str:
    """fmt.Sprint: spaces between operands when neither side is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i > 0 and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(go_value(arg))
    return "".join(out)


def go_sprintln(*args: Any) -> str:
    """fmt.Sprintln: always spaces between operands, then a newline."""
    return " ".join(go_value(a) for a in args) + "\n"


_VERB_RE = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def _go_type(value: Any) -> str:
    names = {bool: "bool", int: "int", float: "float64", str: "string", list: "[]interface {}",
             dict: "map[string]interface {}"}
    return "<nil>" if value is None else names.get(type(value), type(value).__name__)


def go_sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf for the common verbs: %v %s %q %d %t %f %e %g %x %X %o %b %c %T and %%."""
    out: list[str] = []
    pos = 0
    argi = 0
    for m in _VERB_RE.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        if width == "*":
            width = str(args[argi]) if argi < len(args) else ""
            argi += 1
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        out.append(_format_one(flags, width, prec, verb, arg))
    out.append(fmt[pos:])
    if argi < len(args):
        extra = ", ".join(f"{_go_type(a)}={go_value(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _format_one(flags: str, width: str | None, prec: str | None, verb: str, arg: Any) -> str:
    align = "<" if "-" in flags else ">"
    sign = "+" if "+" in flags else ""
    zero = "0" in flags and "-" not in flags
    try:
        if verb in "vs":
            text = go_value(arg)
            if prec is not None:
                text = text[: int(prec)]
        elif verb == "q":
            text = go_quote(arg if isinstance(arg, str) else go_value(arg))
        elif verb == "t":
            text = go_value(arg) if isinstance(arg, bool) else f"%!t({_go_type(arg)}={go_value(arg)})"
        elif verb == "T":
            text = _go_type(arg)
        elif verb in "dxXobc":
            if isinstance(arg, str) and verb in "xX":
                text = arg.encode().hex()
                text = text.upper() if verb == "X" else text
            elif isinstance(arg, bool) or not isinstance(arg, int):
                return f"%!{verb}({_go_type(arg)}={go_value(arg)})"
            elif verb == "c":
                text = chr(arg)
            else:
                text = format(arg, sign + {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb])
        elif verb in "feEgG":
            if not isinstance(arg, (int, float)) or isinstance(arg, bool):
                return f"%!{verb}({_go_type(arg)}={go_value(arg)})"
            p = int(prec) if prec is not None else (6 if verb in "feE" else None)
            text = format(float(arg), sign + (f".{p}" if p is not None else "") + verb)
        else:
            return f"%!{verb}({_go_type(arg)}={go_value(arg)})"
    except (ValueError, TypeError):
        return f"%!{verb}({_go_type(arg)}={go_value(arg)})"
    if width:
        w = int(width)
        if zero and verb not in "vsqtT" and align == ">":
            negative = text.startswith("-")
            body = text[1:] if negative else text
            text = ("-" if negative else "") + body.rjust(w - negative, "0")
        else:
            text = text.ljust(w) if align == "<" else text.rjust(w)
    return text


def to_json(value: Any) -> str:
    """docker's `json` template function: compact, HTML not escaped (except inside a formatting
    context, which Go marshals itself with the default escaping)."""
    text = json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False)
    if hasattr(value, "to_json"):
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if repr(value) == "<no value>":
        return None
    return value
