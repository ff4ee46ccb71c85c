"""build/dockerignore.py: Go filepath.Match patterns, `**`, `!` exceptions, parent-dir matches."""
from __future__ import annotations

import pytest

from dockyard.build.dockerignore import Matcher


def m(text: str) -> Matcher:
    return Matcher.from_text(text)


@pytest.mark.parametrize("patterns,path,excluded", [
    ("*.log", "a.log", True),
    ("*.log", "dir/a.log", False),           # * does not cross /
    ("**/*.log", "dir/sub/a.log", True),
    ("**/*.log", "a.log", True),
    ("dir", "dir/sub/file", True),            # a pattern on a parent excludes its children
    ("dir/*", "dir/file", True),
    ("dir/*", "dirx/file", False),
    ("/abs", "abs", True),                    # a leading / is dropped
    ("./x", "x", True),                       # the pattern is cleaned
    ("a?c", "abc", True),
    ("a?c", "a/c", False),
    ("[a-c]x", "bx", True),
    ("[!a]x", "bx", True),
    ("[!a]x", "ax", False),
    ("*.md\n!README.md", "README.md", False),
    ("*.md\n!README.md", "CHANGES.md", True),
    ("!README.md\n*.md", "README.md", True),  # the last matching pattern wins
    ("# comment\n\n  tmp  ", "tmp", True),
    ("**", "anything/at/all", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("dir/**/x", "dir/x", True),
    ("dir/**/x", "dir/a/b/x", True),
    ("weird(+)", "weird(+)", True),           # regex characters are literal
])
def test_matching(patterns, path, excluded):
    assert m(patterns).excluded(path) is excluded


def test_bad_patterns_fail_early():
    with pytest.raises(ValueError):
        m("[unclosed")
    with pytest.raises(ValueError):
        m("!")


def test_has_exclusions():
    assert m("a\n!b").has_exclusions and not m("a").has_exclusions
