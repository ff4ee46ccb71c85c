"""Loading projects: files, .env, validation errors, merge, extends, include, profiles, anchors, names."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dockyard.compose.errors import ComposeError
from dockyard.compose.loader import Options, load


def write(d: Path, name: str, text: str) -> Path:
    p = d / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(textwrap.dedent(text))
    return p


def project(d: Path, *files: str, env: dict | None = None, **kw):
    return load(Options(files=list(files), cwd=str(d), environ=env or {}, **kw))


def test_default_file_name_dotenv_and_shell_precedence(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", """
        services:
          web:
            image: "busybox:${TAG}"
            environment: [FROM_SHELL, "X=${X:-dx}"]
        """)
    write(tmp_path, ".env", "TAG=1.36\nX=from-dotenv\n")
    p = load(Options(cwd=str(tmp_path), environ={"X": "from-shell", "FROM_SHELL": "s"}))
    assert p.name == tmp_path.name.lower().replace(".", "")
    web = p.services["web"]
    assert web["image"] == "busybox:1.36"
    assert web["environment"] == {"FROM_SHELL": "s", "X": "from-shell"}
    assert p.networks == {"default": {"name": f"{p.name}_default"}}


def test_schema_error_names_file_and_path(tmp_path: Path) -> None:
    f = write(tmp_path, "compose.yaml", "services:\n  web:\n    image: busybox\n    imag: typo\n")
    with pytest.raises(ComposeError) as err:
        project(tmp_path)
    assert str(f) in err.value.message and "services.web" in err.value.message and "'imag'" in err.value.message


def test_schema_type_error(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services:\n  web:\n    image: busybox\n    privileged: [1]\n")
    with pytest.raises(ComposeError, match=r"services\.web\.privileged must be a boolean"):
        project(tmp_path)


def test_missing_dependency_and_cycle(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "services:\n  a: {image: x, depends_on: [nope]}\n")
    with pytest.raises(ComposeError, match="'a' depends on undefined service 'nope'"):
        project(tmp_path, "a.yaml")
    write(tmp_path, "b.yaml", "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n")
    with pytest.raises(ComposeError, match="dependency cycle detected: a -> b -> a"):
        project(tmp_path, "b.yaml")


def test_required_variable_error(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services:\n  web:\n    image: ${IMAGE:?set IMAGE}\n")
    with pytest.raises(ComposeError, match="required variable IMAGE is missing a value: set IMAGE"):
        project(tmp_path)


def test_merge_of_several_files(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", """
        services:
          web:
            image: busybox
            command: ["a", "b"]
            environment: {A: "1", B: "1"}
            ports: ["8080:80"]
            volumes: ["data:/data", "./x:/x"]
            dns: [1.1.1.1]
        volumes: {data: {}}
        """)
    write(tmp_path, "override.yaml", """
        services:
          web:
            command: c
            environment: [B=2, C=3]
            ports: ["8080:80", "9090:90"]
            volumes: ["./y:/x"]
            dns: 8.8.8.8
          extra: {image: busybox}
        """)
    p = project(tmp_path, "compose.yaml", "override.yaml")
    web = p.services["web"]
    assert web["command"] == ["c"]
    assert web["environment"] == {"A": "1", "B": "2", "C": "3"}
    assert [(x["published"], x["target"]) for x in web["ports"]] == [("8080", 80), ("9090", 90)]
    assert {v["target"]: v.get("source") for v in web["volumes"]} == {"/data": "data", "/x": str(tmp_path / "y")}
    assert web["dns"] == ["1.1.1.1", "8.8.8.8"]
    assert set(p.services) == {"web", "extra"}


def test_override_file_found_beside_the_default(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services:\n  web: {image: a}\n")
    write(tmp_path, "compose.override.yaml", "services:\n  web: {image: b}\n")
    assert load(Options(cwd=str(tmp_path), environ={})).services["web"]["image"] == "b"


def test_extends_same_file_and_other_file(tmp_path: Path) -> None:
    write(tmp_path, "base/common.yaml", """
        services:
          base:
            image: busybox
            environment: {A: "1"}
            volumes: ["./data:/data"]
        """)
    write(tmp_path, "compose.yaml", """
        services:
          tmpl:
            image: other
            labels: [x=1]
          one:
            extends: tmpl
            labels: [y=2]
          two:
            extends: {file: base/common.yaml, service: base}
            environment: {B: "2"}
        """)
    p = project(tmp_path)
    assert p.services["one"]["image"] == "other" and p.services["one"]["labels"] == {"x": "1", "y": "2"}
    two = p.services["two"]
    assert two["image"] == "busybox" and two["environment"] == {"A": "1", "B": "2"}
    # a relative path in the extended file resolves against that file's directory
    assert two["volumes"][0]["source"] == str(tmp_path / "base" / "data")


def test_extends_cycle(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services:\n  a: {image: x, extends: b}\n  b: {image: x, extends: a}\n")
    with pytest.raises(ComposeError, match="circular reference"):
        project(tmp_path)


def test_include(tmp_path: Path) -> None:
    write(tmp_path, "sub/compose.yaml", "services:\n  db:\n    image: ${DB_IMAGE}\n    volumes: [./init:/init]\n")
    write(tmp_path, "sub/.env", "DB_IMAGE=postgres\n")
    write(tmp_path, "compose.yaml", "include: [sub/compose.yaml]\nservices:\n  web: {image: x, depends_on: [db]}\n")
    p = project(tmp_path)
    assert p.services["db"]["image"] == "postgres"
    assert p.services["db"]["volumes"][0]["source"] == str(tmp_path / "sub" / "init")
    write(tmp_path, "clash.yaml", "include: [sub/compose.yaml]\nservices:\n  db: {image: y}\n")
    with pytest.raises(ComposeError, match="services.db conflicts with imported resource"):
        project(tmp_path, "clash.yaml")


def test_profiles(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", """
        services:
          web: {image: x}
          debug: {image: x, profiles: [dev]}
        """)
    assert set(project(tmp_path).services) == {"web"}
    assert set(project(tmp_path, profiles=["dev"]).services) == {"web", "debug"}
    assert set(project(tmp_path, env={"COMPOSE_PROFILES": "dev"}).services) == {"web", "debug"}
    assert project(tmp_path).all_profiles() == ["dev"]


def test_anchors_and_extensions(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", """
        x-base: &base
          image: busybox
          restart: always
        services:
          a: {<<: *base}
          b:
            <<: *base
            restart: "no"
        """)
    p = project(tmp_path)
    assert p.services["a"]["restart"] == "always" and p.services["b"]["restart"] == "no"
    assert p.extensions["x-base"]["image"] == "busybox"


def test_project_name_sources(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "name: fromfile\nservices:\n  a: {image: x}\n")
    assert project(tmp_path).name == "fromfile"
    assert project(tmp_path, env={"COMPOSE_PROJECT_NAME": "fromenv"}).name == "fromenv"
    assert project(tmp_path, project_name="flag").name == "flag"
    with pytest.raises(ComposeError, match="invalid project name"):
        project(tmp_path, project_name="Bad Name")


def test_env_file_and_undefined_volume(tmp_path: Path) -> None:
    write(tmp_path, "web.env", "A=from-file\nB=from-file\n")
    write(tmp_path, "compose.yaml", "services:\n  w:\n    image: x\n    env_file: web.env\n    environment: {B: inline}\n")
    assert project(tmp_path).services["w"]["environment"] == {"A": "from-file", "B": "inline"}
    write(tmp_path, "v.yaml", "services:\n  w:\n    image: x\n    volumes: [nope:/data]\n")
    with pytest.raises(ComposeError, match="undefined volume nope"):
        project(tmp_path, "v.yaml")
    write(tmp_path, "e.yaml", "services:\n  w:\n    image: x\n    env_file: missing.env\n")
    with pytest.raises(ComposeError, match="missing.env not found"):
        project(tmp_path, "e.yaml")
