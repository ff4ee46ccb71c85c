"""The Dockerfile frontend: BuildKit's parser (the `dockerfile` package), directives, stages, validation.

Errors are Docker 20.10's words, prefixed with the line as its builder does
("dockerfile parse error line 3: unknown instruction: FOO").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import dockerfile as bkparser

INSTRUCTIONS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
                "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
                "WORKDIR")
_FLAGS = {"FROM": {"platform"}, "COPY": {"from", "chown", "chmod", "link"},
          "ADD": {"chown", "chmod", "link"}, "RUN": {"mount", "network", "security"},
          "HEALTHCHECK": {"interval", "timeout", "start-period", "retries", "start-interval"}}
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


class DockerfileError(ValueError):
    """The Dockerfile cannot be used; the message is what the client sees."""


@dataclass
class Instruction:
    name: str                  # upper case: RUN, COPY, ...
    args: list[str]            # the parser's words (JSON form: the array)
    json: bool
    original: str              # the line(s) as written, continuation joined: shown in "Step i/n"
    line: int
    flags: dict[str, list[str]] = field(default_factory=dict)
    heredocs: list[tuple[str, str]] = field(default_factory=list)  # (name, content)
    trigger: str = ""          # ONBUILD: the instruction it registers, as written

    def flag(self, name: str, default: str | None = None) -> str | None:
        values = self.flags.get(name)
        return values[-1] if values else default

    def __str__(self) -> str:
        return self.original


@dataclass
class Stage:
    index: int
    name: str                  # lower-cased AS name, or ""
    base: str                  # as written: may hold ${ARG}s of the meta args
    platform: str
    source: Instruction        # the FROM line
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    stages: list[Stage]
    meta_args: list[Instruction]
    escape: str = "\\"
    syntax: str = ""

    def stage_index(self, name: str) -> int | None:
        for s in self.stages:
            if s.name and s.name == name.lower():
                return s.index
        return None


def _directives(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = _DIRECTIVE.match(line.strip())
        if not m or m.group(1).lower() in found or m.group(1).lower() not in ("escape", "syntax"):
            break
        found[m.group(1).lower()] = m.group(2)
    escape = found.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise DockerfileError(f"invalid ESCAPE '{escape}'. Must be ` or \\")
    return found


def _error(line: int, message: str) -> DockerfileError:
    return DockerfileError(f"dockerfile parse error line {line}: {message}")


def _parse_raw(text: str) -> tuple[bkparser.Command, ...]:
    try:
        return bkparser.parse_string(text)
    except bkparser.GoParseError as e:
        # The parser names no line: the first prefix of the file that fails is the culprit.
        lines = text.splitlines(keepends=True)
        for n in range(1, len(lines) + 1):
            try:
                bkparser.parse_string("".join(lines[:n]))
            except bkparser.GoParseError:
                raise _error(n, str(e)) from None
        raise DockerfileError(f"dockerfile parse error: {e}") from None


def _flags(cmd: bkparser.Command, name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for raw in cmd.flags:
        key, eq, value = raw[2:].partition("=")
        if key not in _FLAGS.get(name, set()):
            raise _error(cmd.start_line, f"Unknown flag: {key}")
        if key == "link" and not eq:
            value = "true"
        out.setdefault(key, []).append(value)
    return out


def _check(inst: Instruction) -> None:
    """The argument rules of Docker 20.10's instructions.Parse."""
    n, a = inst.name, inst.args
    if n in ("ENV", "LABEL") and not a:
        raise _error(inst.line, f"{n} requires at least one argument")
    if n == "ENV" and any(not k for k in a[0::2]):
        raise _error(inst.line, "ENV names can not be blank")
    if n in ("RUN", "EXPOSE", "VOLUME") and not [x for x in a if x] and not inst.heredocs:
        raise _error(inst.line, f"{n} requires at least one argument")
    if n in ("USER", "WORKDIR", "STOPSIGNAL", "MAINTAINER", "ARG") and len(a) != 1:
        raise _error(inst.line, f"{n} requires exactly one argument")
    if n in ("COPY", "ADD") and len(a) < 2:
        raise _error(inst.line, f"{n} requires at least two arguments, but only one was provided. "
                                "Destination could not be determined.")
    if n == "SHELL" and not inst.json:
        raise _error(inst.line, "SHELL requires the arguments to be in JSON form")
    if n == "VOLUME" and any(not v.strip() for v in a):
        raise _error(inst.line, "VOLUME specified can not be an empty string")
    if n == "HEALTHCHECK" and (not a or a[0].upper() not in ("CMD", "NONE")):
        raise _error(inst.line, f"Unknown type \"{a[0].upper() if a else ''}\" in HEALTHCHECK (try CMD)")
    if n == "HEALTHCHECK" and a[0].upper() == "NONE" and (len(a) > 1 or inst.flags):
        raise _error(inst.line, "HEALTHCHECK NONE takes no arguments")
    if n == "ARG" and a[0].partition("=")[0] == "":
        raise _error(inst.line, "ARG names can not be blank")


def _instruction(cmd: bkparser.Command) -> Instruction:
    name = cmd.cmd.upper()
    if name not in INSTRUCTIONS:
        raise _error(cmd.start_line, f"unknown instruction: {name}")
    inst = Instruction(name, list(cmd.value), cmd.json, cmd.original.rstrip("\n"), cmd.start_line,
                       _flags(cmd, name), [(h.name, h.content) for h in cmd.heredocs])
    if name == "ONBUILD":
        sub = (cmd.sub_cmd or "").upper()
        if sub == "ONBUILD":
            raise _error(cmd.start_line, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if sub in ("FROM", "MAINTAINER"):
            raise _error(cmd.start_line, f"{sub} isn't allowed as an ONBUILD trigger")
        if not sub:
            raise _error(cmd.start_line, "ONBUILD requires at least one argument")
        inst.trigger = re.sub(r"^\s*onbuild\s+", "", cmd.original, flags=re.IGNORECASE).strip()
    _check(inst)
    return inst


def parse(text: str) -> Dockerfile:
    directives = _directives(text)
    escape = directives.get("escape", "\\")
    commands = _parse_raw(text)
    if not commands:
        raise DockerfileError("file with no instructions")
    stages: list[Stage] = []
    meta: list[Instruction] = []
    for cmd in commands:
        inst = _instruction(cmd)
        if inst.name == "FROM":
            stages.append(_stage(inst, len(stages), stages))
        elif not stages:
            if inst.name != "ARG":
                raise _error(inst.line, "no build stage in current context")
            meta.append(inst)
        else:
            stages[-1].instructions.append(inst)
    if not stages:
        raise DockerfileError("dockerfile parse error: no build stage in current context")
    return Dockerfile(stages, meta, escape, directives.get("syntax", ""))


def _stage(inst: Instruction, index: int, earlier: list[Stage]) -> Stage:
    a = inst.args
    if len(a) not in (1, 3) or (len(a) == 3 and a[1].upper() != "AS"):
        raise _error(inst.line, "FROM requires either one or three arguments")
    name = a[2].lower() if len(a) == 3 else ""
    if name and not _STAGE_NAME.match(name):
        raise _error(inst.line, f"invalid name for build stage: \"{a[2]}\", name can't start with a "
                                "number or contain symbols")
    if name and any(s.name == name for s in earlier):
        raise _error(inst.line, f"duplicate name {name}")
    return Stage(index, name, a[0], inst.flag("platform") or "", inst)
