"""Interpolation forms of the Compose Specification, and .env parsing."""
from __future__ import annotations

import pytest

from dockyard.compose.envfile import parse
from dockyard.compose.errors import ComposeError
from dockyard.compose.interpolate import interpolate, substitute

ENV = {"SET": "v", "EMPTY": ""}


@pytest.mark.parametrize("text,want", [
    ("$SET", "v"), ("${SET}", "v"), ("a${SET}b", "avb"), ("$UNSET", ""),
    ("${UNSET:-d}", "d"), ("${EMPTY:-d}", "d"), ("${EMPTY-d}", ""), ("${UNSET-d}", "d"), ("${SET:-d}", "v"),
    ("${SET:+alt}", "alt"), ("${EMPTY:+alt}", ""), ("${EMPTY+alt}", "alt"), ("${UNSET+alt}", ""),
    ("$$SET", "$SET"), ("$${SET}", "${SET}"), ("${UNSET:-${SET}}", "v"), ("${UNSET:-a-$SET-b}", "a-v-b"),
    ("${SET:?boom}", "v"), ("no dollar", "no dollar"),
])
def test_forms(text: str, want: str) -> None:
    assert substitute(text, ENV, "services.a.image") == want


@pytest.mark.parametrize("text", ["${UNSET:?needs it}", "${EMPTY:?needs it}", "${UNSET?needs it}"])
def test_required_variable_names_variable_path_and_message(text: str) -> None:
    with pytest.raises(ComposeError) as err:
        substitute(text, ENV, "services.web.image")
    assert "services.web.image" in err.value.message
    assert "required variable" in err.value.message and "needs it" in err.value.message


def test_question_mark_without_colon_accepts_empty() -> None:
    assert substitute("${EMPTY?x}", ENV, "p") == ""


@pytest.mark.parametrize("text", ["${", "${SET", "${1BAD}", "${SET:x}", "$ alone"])
def test_invalid_format(text: str) -> None:
    with pytest.raises(ComposeError, match="invalid interpolation format for p"):
        substitute(text, ENV, "p")


def test_tree_paths_in_errors() -> None:
    with pytest.raises(ComposeError, match=r"services\.web\.environment\[1\]"):
        interpolate({"services": {"web": {"environment": ["A=1", "B=${NOPE:?}"]}}}, ENV, "")


def test_env_file_syntax() -> None:
    text = "\n".join([
        "# comment", "", "A=1", "export B=two words", "C='single $A'", 'D="double $A\\n"', "E=x # trailing",
        "F=${A}-${MISSING:-m}", "G", "H=", 'M="line1', 'line2"',
    ])
    got = parse(text, ".env", {"G": "from-shell"})
    assert got == {"A": "1", "B": "two words", "C": "single $A", "D": "double 1\n", "E": "x", "F": "1-m",
                   "G": "from-shell", "H": "", "M": "line1\nline2"}


def test_env_file_bad_line_names_file() -> None:
    with pytest.raises(ComposeError, match=r"\.env: line 2"):
        parse("A=1\n=oops\n", ".env")
