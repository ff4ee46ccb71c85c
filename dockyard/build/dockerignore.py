"""`.dockerignore`: patterns with Go filepath.Match syntax, `**`, and `!` exceptions (last match wins).

Shared by the daemon (which drops an ignored Dockerfile/.dockerignore from the context) and,
by copy of nothing but this module's rules, by the CLI, which filters the context it sends.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field


@dataclass
class Pattern:
    text: str
    exclusion: bool
    dirs: list[str] = field(default_factory=list)
    regex: re.Pattern[str] | None = None

    def match(self, path: str) -> bool:
        if self.regex is None:
            self.regex = _compile(self.text)
        return self.regex.match(path) is not None


def _compile(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1  # treat **/ as **
                out.append(".*" if i >= n else "(.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            if i < n:
                out.append(re.escape(pattern[i]))
                i += 1
            else:
                out.append(re.escape("\\"))
        elif ch == "[":
            end = pattern.find("]", i + 1 if i < n and pattern[i] in "^!]" else i)
            if end < 0:
                raise ValueError(f"syntax error in pattern {pattern!r}")
            body = pattern[i:end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(ch))
    out.append("$")
    return re.compile("".join(out), re.DOTALL)


def parse(text: str) -> list[Pattern]:
    """The patterns of a .dockerignore file: comments and blank lines skipped, paths cleaned."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
            if not line:
                raise ValueError("illegal exclusion pattern: \"!\"")
        line = posixpath.normpath(line)
        if len(line) > 1 and line.startswith("/"):
            line = line.lstrip("/") or "/"
        _compile(line)  # a bad pattern fails here, not at the first match
        patterns.append(Pattern(line, exclusion, line.split("/")))
    return patterns


class Matcher:
    """Decides whether a context-relative path (slash separated) is excluded."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns

    @classmethod
    def from_text(cls, text: str) -> "Matcher":
        return cls(parse(text))

    @property
    def has_exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def excluded(self, path: str) -> bool:
        path = posixpath.normpath(path)
        parent = posixpath.dirname(path) or "."
        parent_dirs = parent.split("/")
        matched = False
        for p in self.patterns:
            hit = p.match(path)
            if not hit and parent != "." and len(p.dirs) <= len(parent_dirs):
                hit = p.match("/".join(parent_dirs[:len(p.dirs)]))
            if hit:
                matched = not p.exclusion
        return matched
