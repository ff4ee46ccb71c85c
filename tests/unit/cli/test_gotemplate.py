"""The Go text/template subset behaves like Go's for the formats docker users write."""
import pytest

from dockyard.cli.gotemplate import HEADER_FUNCS, Template, TemplateError

DATA = {
    "Name": "/web", "Id": "abc",
    "State": {"Running": True, "Pid": 42, "ExitCode": 0},
    "Config": {"Env": ["A=1", "B=2"], "Labels": {"a": "1", "com.x": "y"}, "Cmd": None},
    "Mounts": [],
}


def run(src, data=DATA):
    return Template(src).execute(data)


@pytest.mark.parametrize("src,out", [
    ("{{.Name}}", "/web"),
    ("{{.State.Running}} {{.State.Pid}}", "true 42"),
    ("{{json .Config.Labels}}", '{"a":"1","com.x":"y"}'),
    ("{{json .Config.Cmd}}", "null"),
    ("{{json .Name}}", '"/web"'),
    ('{{index .Config.Labels "com.x"}}', "y"),
    ("{{index .Config.Env 1}}", "B=2"),
    ("{{range .Config.Env}}[{{.}}]{{end}}", "[A=1][B=2]"),
    ("{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}", "0:A=1 1:B=2 "),
    ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "a=1;com.x=y;"),
    ("{{range .Mounts}}x{{else}}none{{end}}", "none"),
    ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
    ("{{if not .State.Running}}up{{else if .Name}}named{{else}}x{{end}}", "named"),
    ('{{if eq .State.ExitCode 0 1}}ok{{end}}', "ok"),
    ('{{if and .State.Running (gt .State.Pid 10)}}big{{end}}', "big"),
    ('{{or .Config.Cmd "default"}}', "default"),
    ('{{printf "%s:%d" .Name .State.Pid}}', "/web:42"),
    ('{{printf "%-6s|%5.1f|%q|%v" "ab" 3.14159 "x" .Config.Env}}', 'ab    |  3.1|"x"|[A=1 B=2]'),
    ('{{join .Config.Env ","}}', "A=1,B=2"),
    ("{{upper .Name}}{{lower \"XY\"}}", "/WEBxy"),
    ("{{println .Name}}", "/web\n"),
    ("{{.Name | printf \"%s!\"}}", "/web!"),
    ("{{.Name | len}}", "4"),
    ("{{with .State}}{{.Pid}}{{end}}", "42"),
    ("{{with .Config.Cmd}}x{{else}}empty{{end}}", "empty"),
    ("{{$p := .State.Pid}}{{$p}}", "42"),
    ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
    ("{{.Config.Labels}} {{.Config.Env}} {{.Config.Cmd}}", "map[a:1 com.x:y] [A=1 B=2] <nil>"),
    ("{{.Missing}}", "<no value>"),
    ("a  {{- .Name -}}  b", "a/webb"),
    ("{{/* a comment */}}x", "x"),
    ('{{split "a,b" ","}}', "[a b]"),
    ('{{title "hello world"}}', "Hello World"),
    ('{{pad "x" 1 2}}|', " x  |"),
    ('{{truncate "abcdef" 3}}', "abc"),
    ("{{(index .Config.Labels \"a\")}}", "1"),
    ('{{len .Config.Env}} {{slice "abcdef" 1 3}}', "2 bc"),
    ("{{`raw\\n`}}", "raw\\n"),
])
def test_templates(src, out):
    assert run(src) == out


class Row:
    def ID(self):
        return "0123"

    def Label(self, name):
        return {"k": "v"}.get(name, "")


def test_methods_with_arguments_are_called():
    assert Template('{{.ID}} {{.Label "k"}}').execute(Row()) == "0123 v"


def test_header_functions_pass_headers_through():
    tmpl = Template("{{upper .ID}}\t{{json .Name}}")
    assert tmpl.with_funcs(HEADER_FUNCS).execute({"ID": "CONTAINER ID", "Name": "NAMES"}) == "CONTAINER ID\tNAMES"


@pytest.mark.parametrize("src,message", [
    ("{{nosuchfunc .X}}", 'function "nosuchfunc" not defined'),
    ("{{if .X}}", "unexpected EOF"),
    ("{{.X", "unclosed action"),
    ("{{end}}", "unexpected {{end}}"),
])
def test_parse_errors(src, message):
    with pytest.raises(TemplateError, match=message):
        Template(src)


def test_execution_errors_are_template_errors():
    with pytest.raises(TemplateError):
        Template("{{index .Name 99}}").execute(DATA)
    with pytest.raises(TemplateError):
        Template("{{.Nope}}").execute(Row())
