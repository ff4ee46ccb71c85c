"""build/shell.py: the Dockerfile word expansion rules (quotes, escapes, ${VAR:-x}, ${VAR:+x})."""
from __future__ import annotations

import pytest

from dockyard.build.shell import ExpansionError, expand

ENV = ["A=1", "EMPTY=", "SP=two words", "A=shadowed"]


@pytest.mark.parametrize("word,out", [
    ("$A", "1"), ("${A}", "1"), ("x${A}y", "x1y"), ("$NOPE", ""), ("${NOPE}", ""),
    ("${A:-d}", "1"), ("${NOPE:-d}", "d"), ("${EMPTY:-d}", "d"), ("${NOPE:-$A}", "1"),
    ("${A:+set}", "set"), ("${NOPE:+set}", ""), ("${EMPTY:+set}", ""),
    ("'$A'", "$A"), ('"$A"', "1"), ('"a b"', "a b"), (r"\$A", "$A"), (r'"\$A"', "$A"),
    (r'"a\"b"', 'a"b'), (r'"a\b"', r"a\b"), ("$", "$"), ("a$", "a$"), ("$1x", "x"),
    ("${SP}", "two words"), ("plain", "plain"),
])
def test_expand(word, out):
    assert expand(word, ENV) == out


def test_first_entry_wins():
    assert expand("$A", ["A=env", "A=arg"]) == "env"


def test_backtick_escape():
    assert expand("`$A", ENV, escape="`") == "$A"
    assert expand(r"C:\dir", ENV, escape="`") == r"C:\dir"


@pytest.mark.parametrize("word", ["${A", "${A?x}", "${A:*x}", "'open", '"open', "${}"])
def test_malformed(word):
    with pytest.raises(ExpansionError):
        expand(word, ENV)


def test_required_variable():
    with pytest.raises(ExpansionError, match="NOPE: must be set"):
        expand("${NOPE:?must be set}", ENV)
    assert expand("${A:?x}", ENV) == "1"
