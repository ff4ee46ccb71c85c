"""build/dockerfile.py: BuildKit's parser plus Docker 20.10's validation, directives and stages."""
from __future__ import annotations

import pytest

from dockyard.build.dockerfile import DockerfileError, parse


def test_stages_meta_args_and_flags():
    df = parse("ARG V=1\nFROM busybox:${V} AS One\nRUN echo a \\\n  b\nFROM one\n"
               "COPY --from=one --chown=1:2 /a /b\nONBUILD RUN echo x\n")
    assert [a.args for a in df.meta_args] == [["V=1"]]
    assert [(s.name, s.base) for s in df.stages] == [("one", "busybox:${V}"), ("", "one")]
    assert df.stage_index("ONE") == 0 and df.stage_index("nope") is None
    run = df.stages[0].instructions[0]
    assert run.name == "RUN" and run.line == 3 and run.original == "RUN echo a   b"
    copy = df.stages[1].instructions[0]
    assert copy.flag("from") == "one" and copy.flag("chown") == "1:2" and copy.args == ["/a", "/b"]
    assert df.stages[1].instructions[1].trigger == "RUN echo x"


def test_escape_directive():
    df = parse("# escape=`\nFROM x\nRUN dir c:\\ `\n  /w\n")
    assert df.escape == "`" and df.stages[0].instructions[0].args == ["dir c:\\   /w"]
    with pytest.raises(DockerfileError, match="invalid ESCAPE"):
        parse("# escape=x\nFROM x\n")


def test_lower_case_instructions_and_json_form():
    df = parse('from x\ncmd ["a", "b"]\n')
    cmd = df.stages[0].instructions[0]
    assert cmd.name == "CMD" and cmd.json and cmd.args == ["a", "b"]


@pytest.mark.parametrize("text,message", [
    ("FROM x\nFOO bar\n", "dockerfile parse error line 2: unknown instruction: FOO"),
    ("FROM x\nENV\n", "line 2: ENV requires at least one argument"),
    ("FROM x\n\nENV a\n", "line 3: ENV must have two arguments"),
    ("FROM x\nCOPY a\n", "line 2: COPY requires at least two arguments"),
    ("FROM x\nARG a b\n", "line 2: ARG requires exactly one argument"),
    ("FROM x y\n", "line 1: FROM requires either one or three arguments"),
    ("FROM x AS 1a\n", "invalid name for build stage"),
    ("FROM x AS a\nFROM y AS a\n", "duplicate name a"),
    ("RUN x\nFROM y\n", "line 1: no build stage in current context"),
    ("FROM x\nSHELL /bin/bash\n", "SHELL requires the arguments to be in JSON form"),
    ("FROM x\nCOPY --bogus=1 a b\n", "line 2: Unknown flag: bogus"),
    ("FROM x\nONBUILD ONBUILD RUN x\n", "ONBUILD ONBUILD"),
    ("FROM x\nONBUILD FROM y\n", "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM x\nHEALTHCHECK FOO\n", 'Unknown type "FOO" in HEALTHCHECK'),
    ("# just a comment\n", "file with no instructions"),
])
def test_errors_name_the_line(text, message):
    with pytest.raises(DockerfileError, match=message.replace("(", r"\(")):
        parse(text)
