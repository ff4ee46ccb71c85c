"""Dockerfile word expansion: quotes, escapes and `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR:+x}`, `${VAR:?x}`.

The rules are those of the Dockerfile shell lexer (BuildKit's frontend/dockerfile/shell): the
Dockerfile's escape character escapes outside quotes, single quotes are literal, and inside
double quotes only `"`, `$` and the escape character can be escaped.
"""
from __future__ import annotations

from typing import Sequence


class ExpansionError(ValueError):
    """A malformed substitution (`${`, an unknown modifier, `${VAR:?msg}` with VAR unset)."""


def _lookup(env: Sequence[str], name: str) -> str | None:
    """The first `NAME=value` of `env` (callers order it by precedence)."""
    for entry in env:
        key, eq, value = entry.partition("=")
        if key == name:
            return value if eq else ""
    return None


class _Lexer:
    def __init__(self, word: str, env: Sequence[str], escape: str) -> None:
        self.s = word
        self.i = 0
        self.env = env
        self.escape = escape

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def next(self) -> str:
        ch = self.peek()
        self.i += 1
        return ch

    def run(self, stop: str = "") -> str:
        out: list[str] = []
        while self.i < len(self.s):
            ch = self.peek()
            if stop and ch == stop:
                self.i += 1
                return "".join(out)
            if ch == "'":
                out.append(self.single_quote())
            elif ch == '"':
                out.append(self.double_quote())
            elif ch == "$":
                out.append(self.dollar())
            else:
                self.i += 1
                if ch == self.escape:
                    if self.i >= len(self.s):
                        break  # a trailing escape is dropped
                    ch = self.next()
                out.append(ch)
        if stop:
            raise ExpansionError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(out)

    def single_quote(self) -> str:
        self.i += 1
        end = self.s.find("'", self.i)
        if end < 0:
            raise ExpansionError("unexpected end of statement while looking for matching single-quote")
        text = self.s[self.i:end]
        self.i = end + 1
        return text

    def double_quote(self) -> str:
        self.i += 1
        out: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise ExpansionError("unexpected end of statement while looking for matching double-quote")
            ch = self.peek()
            if ch == '"':
                self.i += 1
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            self.i += 1
            if ch == self.escape and self.peek() in ('"', "$", self.escape) and self.peek():
                ch = self.next()
            out.append(ch)

    def name(self) -> str:
        start = self.i
        if self.peek().isdigit():  # positional parameters are digits only: $1x is $1 then x
            while self.i < len(self.s) and self.s[self.i].isdigit():
                self.i += 1
            return self.s[start:self.i]
        while self.i < len(self.s) and (self.s[self.i].isalnum() or self.s[self.i] == "_"):
            self.i += 1
        return self.s[start:self.i]

    def dollar(self) -> str:
        self.i += 1  # the $
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            return _lookup(self.env, name) or ""
        self.i += 1
        name = self.name()
        if not name:
            raise ExpansionError("bad substitution: missing variable name in ${}")
        ch = self.next()
        value = _lookup(self.env, name)
        if ch == "}":
            return value or ""
        if ch != ":":
            raise ExpansionError(f"missing ':' in substitution of {name}")
        modifier = self.next()
        word = self.run(stop="}")
        if modifier == "-":
            return value if value else word
        if modifier == "+":
            return word if value else ""
        if modifier == "?":
            if not value:
                raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
            return value
        raise ExpansionError(f"unsupported modifier ({modifier}) in substitution")


def expand(word: str, env: Sequence[str], escape: str = "\\") -> str:
    """One word with quotes removed and variables substituted from `env` (`NAME=value`, first wins)."""
    return _Lexer(word, env, escape).run()


def expand_all(words: Sequence[str], env: Sequence[str], escape: str = "\\") -> list[str]:
    return [expand(w, env, escape) for w in words]
