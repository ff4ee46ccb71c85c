"""Normalise two daemons' answers and list how they differ: shapes, values, text, errors.

A shape is the set of `path: type` pairs of a JSON document (list elements merged under `[]`).
Values are compared after ids, digests, timestamps, addresses and the daemons' own paths are
replaced by placeholders. Each difference is one string `call :: path :: what`; the allow-list
(allowlist.py) names the ones that are known, with their reason.
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any

from tests.compat.allowlist import ALLOWED

_SUBS = [
    (re.compile(r"sha256:[0-9a-f]{64}"), "sha256:<id>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<id>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<id>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"), "<time>"),
    (re.compile(r"\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b"), "<mac>"),
    (re.compile(r"\b\d{1,3}(\.\d{1,3}){3}(/\d+)?\b"), "<ip>"),
    (re.compile(r"\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}(/\d+)?\b"), "<ip6>"),
    (re.compile(r"/tmp/dytest-[\w-]+?/(data|exec)\b"), "<root>"),
    (re.compile(r"/tmp/dytest-[\w-]+"), "<base>"),
    # humanised ages and sizes in CLI tables
    (re.compile(r"(About an? \w+|Less than a second|\d+ \w+) ago"), "<ago>"),
    (re.compile(r"Up (About an? \w+|Less than a second|\d+ \w+)"), "Up <dur>"),
    (re.compile(r"\(\d+\) (About an? \w+|Less than a second|\d+ \w+) ago"), "(N) <ago>"),
    (re.compile(r"\b\d+(\.\d+)?k?[kMG]?B\b"), "<size>"),
]


class Counter:
    calls = 0
    collected: list[str] = []


def norm_text(s: str) -> str:
    for rx, rep in _SUBS:
        s = rx.sub(rep, s)
    return s


def norm(obj: Any) -> Any:
    """Placeholders for everything that differs by nature between two daemons."""
    if isinstance(obj, str):
        return norm_text(obj)
    if isinstance(obj, dict):
        return {norm_text(k): norm(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [norm(v) for v in obj]
    return obj


def _type(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "bool", int: "number",
            float: "number", type(None): "null"}[type(v)]


def shape(obj: Any, path: str = "") -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    out.setdefault(path or ".", set()).add(_type(obj))
    if isinstance(obj, dict):
        for k, v in obj.items():
            for p, t in shape(v, f"{path}.{norm_text(k)}" if path else norm_text(k)).items():
                out.setdefault(p, set()).update(t)
    elif isinstance(obj, list):
        for v in obj:
            for p, t in shape(v, f"{path}[]").items():
                out.setdefault(p, set()).update(t)
    return out


def shape_diffs(ref: Any, got: Any) -> list[str]:
    a, b = shape(ref), shape(got)
    diffs = []
    for p in sorted(set(a) | set(b)):
        if p not in b:
            diffs.append(f"{p} :: missing")
        elif p not in a:
            diffs.append(f"{p} :: extra")
        elif a[p] != b[p]:
            diffs.append(f"{p} :: type {sorted(a[p])} != {sorted(b[p])}")
    return diffs


def value_diffs(ref: Any, got: Any, path: str = "") -> list[str]:
    """Leaf values that differ after normalisation (missing keys are shape diffs)."""
    here = path or "."
    if isinstance(ref, dict) and isinstance(got, dict):
        out = []
        for k in ref.keys() & got.keys():
            out += value_diffs(ref[k], got[k], f"{path}.{k}" if path else k)
        return out
    if isinstance(ref, list) and isinstance(got, list):
        if ref and all(isinstance(x, str) for x in ref + got):  # order-free: names, tags, env
            return [] if sorted(ref) == sorted(got) else [f"{here} :: value {ref!r} != {got!r}"]
        if len(ref) != len(got):
            return [f"{here} :: length {len(ref)} != {len(got)}"]
        out = []
        for i, (x, y) in enumerate(zip(ref, got)):
            out += value_diffs(x, y, f"{path}[{i}]")
        return out
    if ref != got and _type(ref) == _type(got):
        return [f"{here} :: value {ref!r} != {got!r}"]
    return []


def _pick(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def differences(call: str, ref: Any, got: Any, values: bool | list[str] = True,
                ignore: tuple[str, ...] = ()) -> list[str]:
    """Differences not in the allow-list: `call :: path :: what`."""
    ref, got = norm(ref), norm(got)
    found = shape_diffs(ref, got)
    if values is True:
        found += value_diffs(ref, got)
    elif values:
        for p in values:
            found += value_diffs(_pick(ref, p), _pick(got, p), p)
    return [d for d in (f"{call} :: {x}" for x in found)
            if not any(fnmatch.fnmatchcase(d, pat) for pat in ignore + tuple(ALLOWED))]
