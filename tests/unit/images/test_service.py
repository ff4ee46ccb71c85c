"""ImageService without mounts: import, inspect, list, history, tag, save/load, rmi."""
from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
import threading

import pytest

from dockyard.errors import Conflict, InvalidParameter, NotFound
from dockyard.images import ImageService


def none(_image_id: str) -> list[str]:
    return []


def layer_rows(svc: ImageService) -> int:
    return len(svc.store.db.query("SELECT * FROM image_layers"))


def test_import_inspect(svc, rootfs):
    iid = svc.import_tar(io.BytesIO(rootfs), "busybox", None,
                         changes=['CMD ["sh"]', "ENV A=1 B=\"x y\"", "EXPOSE 80", "WORKDIR /tmp",
                                  "LABEL k=v", "USER nobody", "VOLUME /data", "STOPSIGNAL SIGINT"])
    assert iid.startswith("sha256:")
    assert svc.resolve("busybox") == svc.resolve("busybox:latest") == svc.resolve(iid[7:19]) == iid
    info = svc.inspect("busybox")
    cfg = info["Config"]
    assert cfg["Cmd"] == ["sh"] and cfg["Env"] == ["A=1", "B=x y"] and cfg["WorkingDir"] == "/tmp"
    assert cfg["ExposedPorts"] == {"80/tcp": {}} and cfg["Labels"] == {"k": "v"}
    assert cfg["User"] == "nobody" and cfg["Volumes"] == {"/data": {}} and cfg["StopSignal"] == "SIGINT"
    assert info["RepoTags"] == ["busybox:latest"] and info["Comment"] == "Imported from -"
    assert info["RootFS"]["Type"] == "layers" and len(info["RootFS"]["Layers"]) == 1
    assert info["GraphDriver"]["Name"] == "overlay2" and "UpperDir" in info["GraphDriver"]["Data"]
    assert info["Size"] == info["VirtualSize"] > 0 and info["Os"] == "linux"
    assert info["Metadata"]["LastTagTime"] != "0001-01-01T00:00:00Z"
    assert svc.config(iid)["config"]["Cmd"] == ["sh"]
    hist = svc.history("busybox")
    assert len(hist) == 1 and hist[0]["Id"] == iid and hist[0]["Tags"] == ["busybox:latest"]
    [summary] = svc.list()
    assert summary["RepoTags"] == ["busybox:latest"] and summary["Containers"] == -1
    assert set(summary) == {"Id", "ParentId", "RepoTags", "RepoDigests", "Created", "Size",
                            "SharedSize", "VirtualSize", "Labels", "Containers"}


def test_import_gzip_same_layer(svc, rootfs):
    a = svc.import_tar(io.BytesIO(rootfs), "a", None)
    b = svc.import_tar(io.BytesIO(gzip.compress(rootfs)), "b", None, message="gz")
    assert a != b
    assert svc.inspect("a")["RootFS"] == svc.inspect("b")["RootFS"]
    assert layer_rows(svc) == 1


def test_bad_change_and_platform(svc, rootfs):
    with pytest.raises(InvalidParameter, match="is not a valid change command"):
        svc.import_tar(io.BytesIO(rootfs), "x", None, changes=["RUN echo"])
    with pytest.raises(InvalidParameter):
        svc.import_tar(io.BytesIO(rootfs), "x", None, platform="windows/amd64")
    assert svc.list() == [] and layer_rows(svc) == 0


def test_corrupt_import_stores_nothing(svc, rootfs):
    for bad in (b"not a tar" * 100, rootfs[:700], gzip.compress(rootfs)[:60]):
        with pytest.raises(InvalidParameter):
            svc.import_tar(io.BytesIO(bad), "x", None)
    root = svc.store.data_root
    assert svc.list() == [] and layer_rows(svc) == 0
    assert list((root / "content" / "blobs" / "sha256").iterdir()) == []
    assert list((root / "content" / "ingest").iterdir()) == []
    assert list((root / "overlay" / "tmp").iterdir()) == []
    assert svc.store.driver.known_ids() == set()


def test_invalid_reference(svc, rootfs):
    with pytest.raises(InvalidParameter, match="repository name must be lowercase"):
        svc.import_tar(io.BytesIO(rootfs), "BusyBox", None)
    with pytest.raises(NotFound, match="^No such image: nope:latest$"):
        svc.resolve("nope")
    with pytest.raises(NotFound, match="^No such image: sha256:"):
        svc.resolve("sha256:" + "0" * 64)


def test_save_load_roundtrip(svc, rootfs, tmp_path):
    iid = svc.import_tar(io.BytesIO(rootfs), "busybox", "1")
    svc.tag("busybox:1", "other/name", "v2")
    out = tmp_path / "save.tar"
    with open(out, "wb") as f:
        svc.save(["busybox:1", "other/name:v2"], f)
    names = subprocess.run(["tar", "-tf", str(out)], check=True, capture_output=True, text=True).stdout.split()
    assert "manifest.json" in names and "repositories" in names and f"{iid[7:]}.json" in names
    assert any(n.endswith("/layer.tar") for n in names) and any(n.endswith("/VERSION") for n in names)
    with tarfile.open(out) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
        repos = json.load(tf.extractfile("repositories"))
        layer = tf.extractfile(manifest[0]["Layers"][0]).read()
    assert manifest[0]["RepoTags"] == ["busybox:1", "other/name:v2"]
    assert set(repos) == {"busybox", "other/name"}
    assert layer == rootfs  # the layer comes back byte for byte, so its diffID holds
    svc.remove("busybox:1", False, False, none)
    svc.remove("other/name:v2", False, False, none)
    assert svc.list() == [] and layer_rows(svc) == 0
    with open(out, "rb") as f:
        lines = svc.load(f)
    assert lines == ["Loaded image: busybox:1", "Loaded image: other/name:v2"]
    assert svc.resolve("busybox:1") == iid
    with open(out, "rb") as f:
        assert svc.load(f) == lines  # loading again reuses the stored layer
    assert layer_rows(svc) == 1


def test_load_untagged_and_renamed(svc, rootfs, tmp_path):
    iid = svc.import_tar(io.BytesIO(rootfs), "busybox", None)
    buf = io.BytesIO()
    svc.save([iid], buf)
    assert svc.load(io.BytesIO(buf.getvalue())) == [f"Loaded image ID: {iid}"]
    other = svc.import_tar(io.BytesIO(rootfs), None, None, message="other")
    buf = io.BytesIO()
    svc.save(["busybox"], buf)
    svc.tag(other, "busybox", None)
    lines = svc.load(io.BytesIO(buf.getvalue()))
    assert lines[0] == f"The image busybox:latest already exists, renaming the old one with ID {other} to empty string"


def test_load_corrupt_stores_nothing(svc, rootfs):
    iid = svc.import_tar(io.BytesIO(rootfs), "busybox", None)
    buf = io.BytesIO()
    svc.save(["busybox"], buf)
    svc.remove("busybox", False, False, none)
    data = buf.getvalue()
    # Flip a byte inside the layer: the diffID no longer matches the config.
    pos = data.index(b"#!shell")
    tampered = data[:pos] + b"#!shelL" + data[pos + 7:]
    for bad in (tampered, data[:1500], b"junk" * 300):
        with pytest.raises(InvalidParameter):
            svc.load(io.BytesIO(bad))
    assert svc.list() == [] and layer_rows(svc) == 0
    assert list((svc.store.data_root / "content" / "blobs" / "sha256").iterdir()) == []
    assert list(svc.store.tmp.iterdir()) == []
    with pytest.raises(NotFound):
        svc.resolve(iid)


def test_shared_layer_unpacked_once(svc, rootfs, monkeypatch):
    calls = []
    real = svc.store.driver.commit_layer
    monkeypatch.setattr(svc.store.driver, "commit_layer", lambda p, c: calls.append(c) or real(p, c))
    a = svc.import_tar(io.BytesIO(rootfs), "a", None)
    b = svc.import_tar(io.BytesIO(rootfs), "b", None, changes=["CMD x"])
    assert a != b and len(calls) == 1 and layer_rows(svc) == 1
    assert svc.store.driver.known_ids() == {calls[0]}
    res = svc.remove("a", False, False, none)
    assert res == [{"Untagged": "a:latest"}, {"Deleted": a}]  # layer still used by b
    res = svc.remove("b", False, False, none)
    assert res[-1]["Deleted"] == svc_layer(res)
    assert svc.store.driver.known_ids() == set()


def svc_layer(res):
    return res[-1]["Deleted"]


def test_concurrent_imports(svc, rootfs):
    errors, ids = [], []

    def run(i):
        try:
            ids.append(svc.import_tar(io.BytesIO(rootfs), f"img{i}", None, message=str(i)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids)) == 6 and layer_rows(svc) == 1
    assert len(svc.store.driver.known_ids()) == 1


def test_rmi_conflicts(svc, rootfs):
    iid = svc.import_tar(io.BytesIO(rootfs), "busybox", None)
    short = iid[7:19]
    cid = "c" * 64
    using = lambda i: [cid] if i == iid else []  # noqa: E731
    with pytest.raises(Conflict) as e:
        svc.remove("busybox", False, False, using)
    assert str(e.value) == (f'conflict: unable to remove repository reference "busybox" (must force) - '
                            f"container cccccccccccc is using its referenced image {short}")
    with pytest.raises(Conflict, match=f"unable to delete {short} \\(must be forced\\) - image is being used "
                                       "by stopped container cccccccccccc"):
        svc.remove(iid, False, False, using)
    with pytest.raises(Conflict, match="cannot be forced\\) - image is being used by running container"):
        svc.remove(iid, True, False, using, containers_running=using)
    svc.tag("busybox", "second", "x")
    with pytest.raises(Conflict, match=f"^conflict: unable to delete {short} \\(must be forced\\) - image is "
                                       "referenced in multiple repositories$"):
        svc.remove(short, False, False, none)
    # With two tags, removing one by name only untags, even with a container using it.
    assert svc.remove("second:x", False, False, using) == [{"Untagged": "second:x"}]
    res = svc.remove("busybox", True, False, using)
    assert res[:2] == [{"Untagged": "busybox:latest"}, {"Deleted": iid}]
    assert layer_rows(svc) == 0  # no rw layer was prepared, so nothing holds the layer
    with pytest.raises(NotFound, match="No such image: busybox:latest"):
        svc.remove("busybox", False, False, none)


def test_rmi_by_id_untags_single_repo(svc, rootfs):
    iid = svc.import_tar(io.BytesIO(rootfs), "busybox", None)
    res = svc.remove(iid, False, False, none)
    assert res[0] == {"Untagged": "busybox:latest"} and res[1] == {"Deleted": iid}
    assert svc.list() == []


def test_list_filters(svc, rootfs):
    a = svc.import_tar(io.BytesIO(rootfs), "alpha", "1", changes=["LABEL team=x"])
    b = svc.import_tar(io.BytesIO(rootfs), None, None, message="dangling")
    assert {i["Id"] for i in svc.list(filters={"dangling": ["true"]})} == {b}
    assert svc.list(filters={"dangling": ["true"]})[0]["RepoTags"] == ["<none>:<none>"]
    assert {i["Id"] for i in svc.list(filters={"dangling": ["false"]})} == {a}
    assert {i["Id"] for i in svc.list(filters={"label": ["team=x"]})} == {a}
    assert svc.list(filters={"label": ["team=y"]}) == []
    assert {i["Id"] for i in svc.list(filters={"reference": ["alph*"]})} == {a}
    assert {i["Id"] for i in svc.list(filters={"reference": ["alpha:1"]})} == {a}
    with pytest.raises(InvalidParameter, match="Invalid filter 'bogus'"):
        svc.list(filters={"bogus": ["1"]})


def test_tag_errors(svc, rootfs):
    svc.import_tar(io.BytesIO(rootfs), "busybox", None)
    with pytest.raises(InvalidParameter, match="invalid tag format"):
        svc.tag("busybox", "x", ".bad")
    with pytest.raises(InvalidParameter, match="lowercase"):
        svc.tag("busybox", "X", None)
    with pytest.raises(NotFound):
        svc.tag("missing", "x", None)
