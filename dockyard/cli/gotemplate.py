"""A subset of Go's text/template: parse once, execute on dicts or objects, with docker's functions.

Supported: text, {{- trim -}}, comments, fields (.A.B, $x.A, (expr).A), variables
($, $x := / =), pipelines with |, parenthesised commands, string/raw/number/bool/nil
literals, if/else if/else, range (with $i, $e :=) and else, with, and the functions
and, or, not, eq, ne, lt, le, gt, ge, len, index, slice, print, printf, println,
json, join, split, lower, upper, title, pad, truncate.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from dockyard.cli.gofmt import go_quote, go_sprint, go_sprintf, go_sprintln, to_json


class TemplateError(Exception):
    """A template that does not parse or fails to execute."""


class _NoValue:
    """What a missing map key evaluates to; prints as Go does."""

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


NO_VALUE = _NoValue()

# ---------------------------------------------------------------- lexing

_ACTION_RE = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)+')
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<number>[+-]?(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
_CHAIN_RE = re.compile(r"(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def _tokenize(src: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN_RE.match(src, pos)
        if not m:
            raise TemplateError(f"unexpected {src[pos]!r} in command")
        kind = m.lastgroup or ""
        text = m.group()
        pos = m.end()
        if kind == "ws":
            continue
        # a field chain glued to a closing paren or variable: (x).A.B, $v.A
        if kind in ("var", "rparen"):
            tokens.append((kind, text))
            c = _CHAIN_RE.match(src, pos)
            if c:
                tokens.append(("chain", c.group()))
                pos = c.end()
            continue
        tokens.append((kind, text))
    return tokens


# ---------------------------------------------------------------- parse tree

class _Node:
    pass


class _Text(_Node):
    def __init__(self, text: str) -> None:
        self.text = text


class _Pipeline(_Node):
    def __init__(self, decl: list[str], is_assign: bool, cmds: list[list[Any]]) -> None:
        self.decl = decl
        self.is_assign = is_assign
        self.cmds = cmds


class _Action(_Node):
    def __init__(self, pipe: _Pipeline) -> None:
        self.pipe = pipe


class _Branch(_Node):
    def __init__(self, kind: str, pipe: _Pipeline, body: list[_Node], other: list[_Node]) -> None:
        self.kind = kind
        self.pipe = pipe
        self.body = body
        self.other = other


# operands: ("field", [names]) ("var", name, [names]) ("lit", value) ("ident", name)
#           ("sub", _Pipeline, [names])


class _Parser:
    def __init__(self, src: str) -> None:
        self.items = self._split(src)
        self.pos = 0
        self._else_tokens: list[tuple[str, str]] = []

    @staticmethod
    def _split(src: str) -> list[tuple[str, Any]]:
        items: list[tuple[str, Any]] = []
        pos = 0
        trim_next = False
        for m in _ACTION_RE.finditer(src):
            text = src[pos:m.start()]
            if trim_next:
                text = text.lstrip()
            if m.group(1):
                text = text.rstrip()
            if text:
                items.append(("text", text))
            body = m.group(2)
            trim_next = bool(m.group(3))
            pos = m.end()
            stripped = body.strip()
            if stripped.startswith("/*"):
                if not stripped.endswith("*/"):
                    raise TemplateError("unclosed comment")
                continue
            items.append(("action", _tokenize(body)))
        text = src[pos:]
        if trim_next:
            text = text.lstrip()
        if "{{" in text:
            raise TemplateError("unclosed action")
        if text:
            items.append(("text", text))
        return items

    def parse(self) -> list[_Node]:
        nodes, end = self._list()
        if end is not None:
            raise TemplateError(f"unexpected {{{{{end}}}}}")
        return nodes

    def _list(self) -> tuple[list[_Node], str | None]:
        nodes: list[_Node] = []
        while self.pos < len(self.items):
            kind, value = self.items[self.pos]
            self.pos += 1
            if kind == "text":
                nodes.append(_Text(value))
                continue
            tokens: list[tuple[str, str]] = value
            if not tokens:
                raise TemplateError("missing value for command")
            head = tokens[0]
            if head == ("ident", "end"):
                return nodes, "end"
            if head == ("ident", "else"):
                self._else_tokens = tokens[1:]
                return nodes, "else"
            if head[0] == "ident" and head[1] in ("if", "range", "with"):
                nodes.append(self._branch(head[1], tokens[1:]))
                continue
            if head[0] == "ident" and head[1] in ("define", "template", "block", "break", "continue"):
                raise TemplateError(f"{{{{{head[1]}}}}} is not supported")
            nodes.append(_Action(self._pipeline(tokens)))
        return nodes, None

    def _branch(self, kind: str, tokens: list[tuple[str, str]]) -> _Branch:
        pipe = self._pipeline(tokens)
        body, end = self._list()
        other: list[_Node] = []
        if end == "else":
            rest = self._else_tokens
            if rest and rest[0][0] == "ident" and rest[0][1] in ("if", "with"):
                # {{else if ...}} chains: the rest of the chain shares our {{end}}
                other = [self._branch(rest[0][1], rest[1:])]
                return _Branch(kind, pipe, body, other)
            other, end = self._list()
        if end != "end":
            raise TemplateError(f"unexpected EOF in {kind}")
        return _Branch(kind, pipe, body, other)

    def _pipeline(self, tokens: list[tuple[str, str]]) -> _Pipeline:
        decl: list[str] = []
        is_assign = False
        i = 0
        # $x := / $x = / $i, $e :=
        if tokens and tokens[0][0] == "var":
            j = 0
            names = []
            while j < len(tokens) and tokens[j][0] == "var":
                names.append(tokens[j][1])
                if j + 1 < len(tokens) and tokens[j + 1][0] == "comma":
                    j += 2
                    continue
                j += 1
                break
            if j < len(tokens) and tokens[j][0] in ("decl", "assign"):
                decl = names
                is_assign = tokens[j][0] == "assign"
                i = j + 1
        cmds: list[list[Any]] = []
        current: list[Any] = []
        while i < len(tokens):
            kind, text = tokens[i]
            if kind == "pipe":
                if not current:
                    raise TemplateError("missing command in pipeline")
                cmds.append(current)
                current = []
                i += 1
                continue
            operand, i = self._operand(tokens, i)
            current.append(operand)
        if current:
            cmds.append(current)
        if not cmds:
            raise TemplateError("missing value for command")
        return _Pipeline(decl, is_assign, cmds)

    def _operand(self, tokens: list[tuple[str, str]], i: int) -> tuple[Any, int]:
        kind, text = tokens[i]
        i += 1
        chain: list[str] = []
        if i < len(tokens) and tokens[i][0] == "chain":
            chain = tokens[i][1].split(".")[1:]
            i += 1
        if kind == "field":
            return ("field", [] if text == "." else text.split(".")[1:]), i
        if kind == "var":
            return ("var", text, chain), i
        if kind == "str":
            return ("lit", _unquote(text)), i
        if kind == "raw":
            return ("lit", text[1:-1]), i
        if kind == "char":
            return ("lit", ord(_unquote('"' + text[1:-1] + '"'))), i
        if kind == "number":
            return ("lit", _number(text)), i
        if kind == "ident":
            if text in ("true", "false"):
                return ("lit", text == "true"), i
            if text == "nil":
                return ("lit", None), i
            return ("ident", text), i
        if kind == "lparen":
            depth = 1
            j = i
            while j < len(tokens) and depth:
                depth += {"lparen": 1, "rparen": -1}.get(tokens[j][0], 0)
                j += 1
            if depth:
                raise TemplateError("unclosed left paren")
            sub = self._pipeline(tokens[i:j - 1])
            chain = []
            if j < len(tokens) and tokens[j][0] == "chain":
                chain = tokens[j][1].split(".")[1:]
                j += 1
            return ("sub", sub, chain), j
        raise TemplateError(f"unexpected {text!r} in operand")


def _unquote(text: str) -> str:
    import ast
    try:
        return str(ast.literal_eval(text))
    except (ValueError, SyntaxError) as exc:
        raise TemplateError(f"bad string {text}") from exc


def _number(text: str) -> int | float:
    clean = text.replace("_", "")
    try:
        return int(clean, 0)
    except ValueError:
        return float(clean)


# ---------------------------------------------------------------- execution

def truth(value: Any) -> bool:
    """Go's template truth: false, 0, nil, and empty strings, slices and maps are false."""
    if value is NO_VALUE or value is None:
        return False
    if isinstance(value, (bool, int, float, str, list, tuple, dict)):
        return bool(value)
    return True


def _field(value: Any, name: str, args: list[Any] | None = None) -> Any:
    if value is NO_VALUE or value is None:
        return NO_VALUE
    if isinstance(value, dict):
        return value.get(name, NO_VALUE)
    attr = getattr(value, name, None)
    if attr is None or name.startswith("_"):
        raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
    if callable(attr):
        return attr(*(args or []))
    return attr


def _chain(value: Any, names: list[str], args: list[Any] | None = None) -> Any:
    for k, name in enumerate(names):
        value = _field(value, name, args if k == len(names) - 1 else None)
    return value


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(item, dict):
            item = item.get(key, NO_VALUE)
        elif isinstance(item, (list, tuple, str)):
            try:
                item = item[int(key)]
            except (IndexError, ValueError) as exc:
                raise TemplateError(f"error calling index: index out of range: {key}") from exc
        elif item is None or item is NO_VALUE:
            raise TemplateError("error calling index: index of untyped nil")
        else:
            raise TemplateError(f"error calling index: can't index item of type {type(item).__name__}")
    return item


def _go_cmp(op: str) -> Callable[..., bool]:
    def compare(a: Any, *rest: Any) -> bool:
        if op == "eq":
            if not rest:
                raise TemplateError("missing argument for comparison")
            return any(a == b for b in rest)
        b = rest[0]
        if op == "ne":
            return bool(a != b)
        try:
            return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
        except TypeError as exc:
            raise TemplateError(f"error calling {op}: incompatible types for comparison") from exc
    return compare


def _slice(item: Any, *idx: int) -> Any:
    return item[slice(*idx)] if idx else item


def _go_len(item: Any) -> int:
    try:
        return len(item)
    except TypeError as exc:
        raise TemplateError(f"error calling len: len of type {type(item).__name__}") from exc


def _join(items: Any, sep: str) -> str:
    if items is None or items is NO_VALUE:
        return ""
    return sep.join(go_sprint(x) for x in items)


def _title(text: str) -> str:
    return re.sub(r"(^|[^\w'])(\w)", lambda m: m.group(1) + m.group(2).upper(), str(text))


def _truncate(text: str, length: int) -> str:
    return text[:length] if len(text) > length else text


BASE_FUNCS: dict[str, Callable[..., Any]] = {
    "and": lambda *a: next((x for x in a if not truth(x)), a[-1]),
    "or": lambda *a: next((x for x in a if truth(x)), a[-1]),
    "not": lambda x: not truth(x),
    "eq": _go_cmp("eq"), "ne": _go_cmp("ne"), "lt": _go_cmp("lt"),
    "le": _go_cmp("le"), "gt": _go_cmp("gt"), "ge": _go_cmp("ge"),
    "len": _go_len,
    "index": _index,
    "slice": _slice,
    "print": lambda *a: go_sprint(*a),
    "printf": lambda fmt, *a: go_sprintf(fmt, *a),
    "println": lambda *a: go_sprintln(*a),
    "urlquery": lambda *a: __import__("urllib.parse").parse.quote_plus(go_sprint(*a)),
    "json": to_json,
    "join": _join,
    "split": lambda s, sep: str(s).split(sep) if sep else list(str(s)),
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "title": _title,
    "pad": lambda s, prefix, suffix: " " * prefix + str(s) + " " * suffix,
    "truncate": _truncate,
    "quote": lambda s: go_quote(str(s)),
}

# docker renders table headers with these: the formatting functions pass the header through
HEADER_FUNCS: dict[str, Callable[..., Any]] = {
    **BASE_FUNCS,
    **{name: (lambda v, *_: v) for name in ("json", "split", "join", "title", "lower", "upper", "pad", "truncate")},
}


class Template:
    """A parsed template; `execute(data)` returns the rendered text."""

    def __init__(self, src: str, funcs: dict[str, Callable[..., Any]] | None = None) -> None:
        self.src = src
        self.funcs = funcs if funcs is not None else BASE_FUNCS
        try:
            self.nodes = _Parser(src).parse()
        except TemplateError as exc:
            raise TemplateError(f"template: :1: {exc}") from None
        self._check(self.nodes)

    def _check(self, nodes: list[_Node]) -> None:
        """Unknown functions are a parse error in Go."""
        for node in nodes:
            pipes: list[_Pipeline] = []
            if isinstance(node, _Action):
                pipes.append(node.pipe)
            elif isinstance(node, _Branch):
                pipes.append(node.pipe)
                self._check(node.body)
                self._check(node.other)
            while pipes:
                pipe = pipes.pop()
                for cmd in pipe.cmds:
                    for operand in cmd:
                        if operand[0] == "ident" and operand[1] not in self.funcs:
                            raise TemplateError(f'template: :1: function "{operand[1]}" not defined')
                        if operand[0] == "sub":
                            pipes.append(operand[1])

    def with_funcs(self, funcs: dict[str, Callable[..., Any]]) -> "Template":
        clone = Template.__new__(Template)
        clone.src, clone.nodes, clone.funcs = self.src, self.nodes, funcs
        return clone

    def execute(self, data: Any) -> str:
        out: list[str] = []
        try:
            self._run(self.nodes, data, [("$", data)], out)
        except TemplateError as exc:
            raise TemplateError(f"template: :1: executing \"\": {exc}") from None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise TemplateError(f"template: :1: executing \"\": {exc}") from None
        return "".join(out)

    # -- evaluation

    def _run(self, nodes: list[_Node], dot: Any, scope: list[tuple[str, Any]], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, _Text):
                out.append(node.text)
            elif isinstance(node, _Action):
                value = self._pipe(node.pipe, dot, scope)
                if not node.pipe.decl:
                    out.append(go_sprint(value))
            elif isinstance(node, _Branch):
                self._branch(node, dot, scope, out)

    def _branch(self, node: _Branch, dot: Any, scope: list[tuple[str, Any]], out: list[str]) -> None:
        mark = len(scope)
        if node.kind == "range":
            value = self._eval_cmds(node.pipe.cmds, dot, scope)
            if isinstance(value, dict):
                items = [(k, value[k]) for k in sorted(value)]
            elif isinstance(value, (list, tuple)):
                items = list(enumerate(value))
            elif isinstance(value, int) and not isinstance(value, bool):
                items = [(i, i) for i in range(value)]
            elif value is None or value is NO_VALUE:
                items = []
            else:
                raise TemplateError(f"range can't iterate over {go_sprint(value)}")
            for key, elem in items:
                if len(node.pipe.decl) == 1:
                    scope.append((node.pipe.decl[0], elem))
                elif len(node.pipe.decl) == 2:
                    scope.extend([(node.pipe.decl[0], key), (node.pipe.decl[1], elem)])
                self._run(node.body, elem, scope, out)
                del scope[mark:]
            if not items:
                self._run(node.other, dot, scope, out)
            return
        value = self._pipe(node.pipe, dot, scope)
        if truth(value):
            self._run(node.body, value if node.kind == "with" else dot, scope, out)
        else:
            self._run(node.other, dot, scope, out)
        del scope[mark:]

    def _pipe(self, pipe: _Pipeline, dot: Any, scope: list[tuple[str, Any]]) -> Any:
        value = self._eval_cmds(pipe.cmds, dot, scope)
        for name in pipe.decl:
            if pipe.is_assign:
                for k in range(len(scope) - 1, -1, -1):
                    if scope[k][0] == name:
                        scope[k] = (name, value)
                        break
                else:
                    raise TemplateError(f"undefined variable: {name}")
            else:
                scope.append((name, value))
        return value

    def _eval_cmds(self, cmds: list[list[Any]], dot: Any, scope: list[tuple[str, Any]]) -> Any:
        value: Any = NO_VALUE
        for k, cmd in enumerate(cmds):
            value = self._command(cmd, dot, scope, value if k else None, k > 0)
        return value

    def _command(self, cmd: list[Any], dot: Any, scope: list[tuple[str, Any]], piped: Any, has_piped: bool) -> Any:
        head = cmd[0]
        extra = [piped] if has_piped else []
        if head[0] == "ident":
            fn = self.funcs[head[1]]
            if head[1] in ("and", "or"):
                return self._and_or(head[1], cmd[1:], dot, scope, extra)
            args = [self._operand(op, dot, scope) for op in cmd[1:]] + extra
            try:
                return fn(*args)
            except TemplateError:
                raise
            except TypeError as exc:
                raise TemplateError(f"error calling {head[1]}: {exc}") from None
        if head[0] in ("field", "var", "sub") and (len(cmd) > 1 or has_piped):
            # a method call with arguments: .Label "key"
            base, names = self._base(head, dot, scope)
            args = [self._operand(op, dot, scope) for op in cmd[1:]] + extra
            return _chain(base, names, args)
        if len(cmd) > 1:
            raise TemplateError(f"can't give argument to non-function {go_sprint(self._operand(head, dot, scope))}")
        return self._operand(head, dot, scope)

    def _and_or(self, name: str, ops: list[Any], dot: Any, scope: list[tuple[str, Any]], extra: list[Any]) -> Any:
        value: Any = None
        thunks = [lambda op=op: self._operand(op, dot, scope) for op in ops]
        thunks += [lambda v=v: v for v in extra]
        for thunk in thunks:
            value = thunk()
            if truth(value) != (name == "and"):
                return value
        return value

    def _base(self, op: Any, dot: Any, scope: list[tuple[str, Any]]) -> tuple[Any, list[str]]:
        if op[0] == "field":
            return dot, op[1]
        if op[0] == "var":
            return self._lookup(op[1], scope), op[2]
        return self._pipe(op[1], dot, scope), op[2]

    def _operand(self, op: Any, dot: Any, scope: list[tuple[str, Any]]) -> Any:
        if op[0] == "lit":
            return op[1]
        if op[0] == "ident":
            return self.funcs[op[1]]()
        base, names = self._base(op, dot, scope)
        return _chain(base, names)

    @staticmethod
    def _lookup(name: str, scope: list[tuple[str, Any]]) -> Any:
        for key, value in reversed(scope):
            if key == name:
                return value
        raise TemplateError(f"undefined variable \"{name}\"")


def parse(src: str, funcs: dict[str, Callable[..., Any]] | None = None) -> Template:
    return Template(src, funcs)
