"""ps/images/history placeholders and table rendering match docker's output."""
import json
import time

from dockyard.cli.formatting import (IMAGES_FORMAT, IMAGES_HEADER, PS_FORMAT, PS_HEADER, ContainerContext,
                                     HistoryContext, displayable_ports, image_rows, indent_json, render)

CONTAINER = {
    "Id": "5e163afc732ad87c5366cc1b0d4b43c4013a752c9e20da11e818405f71f74ddc",
    "Names": ["/t1"], "Image": "busybox", "ImageID": "sha256:669f28149acf",
    "Command": "sh -c 'echo out; echo err >&2; exit 3'", "Created": int(time.time()) - 5,
    "State": "exited", "Status": "Exited (3) 2 seconds ago", "Ports": [], "Labels": {"b": "2", "a": "1"},
    "SizeRw": 12, "SizeRootFs": 1978000, "Mounts": [{"Name": "", "Source": "/some/long/source/path", "Driver": ""}],
    "NetworkSettings": {"Networks": {"bridge": {}}},
}


def test_ps_table():
    out = render(PS_FORMAT, [ContainerContext({**CONTAINER, "Created": int(time.time()) - 5})], PS_HEADER)
    lines = out.splitlines()
    assert lines[0] == "CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS                     PORTS     NAMES"
    assert lines[1] == ('5e163afc732a   busybox   "sh -c \'echo out; ec…"   5 seconds ago   '
                        'Exited (3) 2 seconds ago             t1')


def test_ps_empty_table_still_has_header():
    assert render(PS_FORMAT, [], PS_HEADER) == \
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"


def test_ps_placeholders():
    c = ContainerContext(CONTAINER)
    assert c.Labels() == "a=1,b=2" and c.Label("a") == "1"
    assert c.Size() == "12B (virtual 1.98MB)"
    assert c.Mounts() == "/some/long/sou…" and c.Networks() == "bridge" and c.LocalVolumes() == "0"
    assert ContainerContext(CONTAINER, trunc=False).ID() == CONTAINER["Id"]
    assert render("{{.Names}}:{{.State}}", [c]) == "t1:exited\n"
    data = json.loads(render("{{json .}}", [c]))
    assert list(data) == sorted(data) and data["Command"].startswith('"sh -c')


def test_names_with_links_are_hidden_when_truncating():
    c = ContainerContext({**CONTAINER, "Names": ["/other/alias", "/t1"]})
    assert c.Names() == "t1"


def test_displayable_ports():
    ports = [{"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp", "IP": "0.0.0.0"},
             {"PrivatePort": 443, "Type": "tcp"}, {"PrivatePort": 444, "Type": "tcp"},
             {"PrivatePort": 53, "PublicPort": 53, "Type": "udp", "IP": "127.0.0.1"}]
    assert displayable_ports(ports) == "127.0.0.1:53->53/udp, 443-444/tcp, 0.0.0.0:8080->80/tcp"


def test_image_rows():
    image = {"Id": "sha256:669f28149acfdd6c25", "RepoTags": ["busybox:latest", "busybox:1", "me/x:y"],
             "RepoDigests": ["busybox@sha256:aaaa"], "Created": time.time() - 1.5, "Size": 1978000}
    rows = image_rows(image, digests=False, trunc=True)
    assert [(r.Repository(), r.Tag()) for r in rows] == [("busybox", "latest"), ("busybox", "1"), ("me/x", "y")]
    rows = image_rows(image, digests=True, trunc=True)
    assert rows[0].Digest() == "sha256:aaaa"
    dangling = image_rows({**image, "RepoTags": ["<none>:<none>"], "RepoDigests": []}, False, True)
    assert [(r.Repository(), r.Tag()) for r in dangling] == [("<none>", "<none>")]
    out = render(IMAGES_FORMAT, image_rows(image, False, True)[:1], IMAGES_HEADER).splitlines()
    assert out[0] == "REPOSITORY   TAG       IMAGE ID       CREATED        SIZE"
    assert out[1] == "busybox      latest    669f28149acf   1 second ago   1.98MB"


def test_history_context():
    h = HistoryContext({"Id": "<missing>", "Created": 0, "CreatedBy": "/bin/sh -c\t#(nop) " + "x" * 60,
                        "Size": 1000, "Comment": ""})
    assert h.ID() == "<missing>" and len(h.CreatedBy()) == 45 and h.CreatedBy().endswith("…")
    assert "\t" not in h.CreatedBy() and h.Size() == "1kB"
    assert HistoryContext({"Size": 1000}, human=False).Size() == "1000"


def test_inspect_json_is_indented_not_escaped():
    assert indent_json([{"a": "<&>"}]) == '[\n    {\n        "a": "<&>"\n    }\n]'
