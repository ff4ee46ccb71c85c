"""`docker build` (the CLI's classic POST /build) against dockyardd: Docker's stream, the cache,
instruction semantics, multi-stage and --target, build args, .dockerignore, -f outside the context."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest


def _name(prefix: str = "dytest-build") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def made(daemon):
    """Image names a test creates; removed afterwards, and no build container or mount may be left."""
    images: list[str] = []
    before = set(daemon.docker("ps", "-aq", "--no-trunc").stdout.split())
    yield images
    for i in images:
        daemon.docker("rmi", "-f", i)
    for cid in set(daemon.docker("ps", "-aq", "--no-trunc").stdout.split()) - before:
        daemon.docker("rm", "-f", cid)
    mounts, cgroups = daemon.leftovers(set())
    assert not mounts and not cgroups


def _context(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path


def _build(daemon, ctx: Path, *args: str, timeout: float = 120):
    return daemon.docker("build", *args, str(ctx), timeout=timeout)


def test_build_stream_run_and_cache(daemon, docker_cli, made, tmp_path):
    tag = _name()
    made.append(tag)
    ctx = _context(tmp_path, {
        "Dockerfile": "FROM busybox\nENV A=1 B=\"two words\"\nWORKDIR /app\nCOPY . /app/\n"
                      "RUN echo ran-$A && echo \"$B\" > /app/b.txt\nLABEL x=y\nEXPOSE 80 53/udp\n"
                      'CMD ["cat", "/app/b.txt"]\n',
        "one.txt": "1\n", "dir/two.txt": "2\n"})
    r = _build(daemon, ctx, "-t", tag)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "Step 1/8 : FROM busybox" in out and "Step 5/8 : RUN echo ran-$A" in out
    assert " ---> Running in " in out and "ran-1\n" in out and "Removing intermediate container" in out
    assert f"Successfully tagged {tag}:latest" in out and "Successfully built " in out
    r = daemon.docker("run", "--rm", tag)
    assert r.returncode == 0 and r.stdout == b"two words\n", r.stderr
    r = daemon.docker("run", "--rm", tag, "cat", "/app/one.txt", "/app/dir/two.txt")
    assert r.stdout == b"1\n2\n"
    first_id = daemon.client().images.get(tag).id

    # unchanged: every step is a hit, no container runs, the same image comes out
    containers = daemon.docker("ps", "-aq").stdout
    r = _build(daemon, ctx, "-t", tag)
    out = r.stdout.decode()
    assert r.returncode == 0 and out.count(" ---> Using cache") == 7, out
    assert "Running in" not in out and daemon.docker("ps", "-aq").stdout == containers
    assert daemon.client().images.get(tag).id == first_id

    # a touched file (same content) is still a hit; changed content rebuilds from the COPY on
    (ctx / "one.txt").write_text("1\n")
    assert _build(daemon, ctx, "-t", tag).stdout.decode().count("Using cache") == 7
    (ctx / "dir/two.txt").write_text("changed\n")
    out = _build(daemon, ctx, "-t", tag).stdout.decode()
    assert out.count("Using cache") == 2 and "Running in" in out
    r = daemon.docker("run", "--rm", tag, "cat", "/app/dir/two.txt")
    assert r.stdout == b"changed\n"

    # --no-cache runs everything again
    out = _build(daemon, ctx, "-t", tag, "--no-cache").stdout.decode()
    assert "Using cache" not in out and "ran-1" in out


def test_image_config_and_history(daemon, docker_cli, made, tmp_path):
    tag = _name()
    made.append(tag)
    ctx = _context(tmp_path, {"Dockerfile": (
        "FROM busybox\nCMD [\"base-cmd\"]\nENTRYPOINT [\"/bin/echo\"]\nUSER daemon\n"
        "STOPSIGNAL SIGUSR1\nHEALTHCHECK --interval=5s --retries=2 CMD true\n"
        "SHELL [\"/bin/sh\", \"-ec\"]\nONBUILD RUN echo triggered\nVOLUME /data\n"
        "WORKDIR rel\nWORKDIR sub\nLABEL \"k 1\"=\"v 1\" k2=v2\nMAINTAINER someone\n")})
    r = _build(daemon, ctx, "-t", tag)
    assert r.returncode == 0, r.stderr
    info = daemon.client().api.inspect_image(tag)
    cfg = info["Config"]
    # a CMD set in this stage survives the ENTRYPOINT that follows it
    assert cfg["Entrypoint"] == ["/bin/echo"] and cfg["Cmd"] == ["base-cmd"]
    assert cfg["User"] == "daemon" and cfg["StopSignal"] == "SIGUSR1"
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000, "Retries": 2}
    assert cfg["Shell"] == ["/bin/sh", "-ec"] and cfg["OnBuild"] == ["RUN echo triggered"]
    assert cfg["Volumes"] == {"/data": {}} and cfg["WorkingDir"] == "/rel/sub"
    assert cfg["Labels"] == {"k 1": "v 1", "k2": "v2"} and info["Author"] == "someone"
    hist = daemon.client().api.history(tag)
    assert hist[0]["CreatedBy"] == "/bin/sh -ec #(nop)  MAINTAINER someone"
    by = [h["CreatedBy"] for h in hist]
    assert '/bin/sh -c #(nop)  ENTRYPOINT ["/bin/echo"]' in by
    # the WORKDIRs made the directories (a layer each); the metadata steps are empty layers
    sizes = {h["CreatedBy"].split("#(nop)  ")[-1]: h["Size"] for h in hist if "#(nop)" in h["CreatedBy"]}
    assert sizes["LABEL k 1=v 1 k2=v2"] == 0
    assert len(info["RootFS"]["Layers"]) == len(daemon.client().api.inspect_image("busybox")["RootFS"]["Layers"]) + 2
    r = daemon.docker("run", "--rm", "--entrypoint", "sh", tag, "-c", "pwd; id -u")
    assert r.stdout == b"/rel/sub\n1\n", r.stderr

    # ENTRYPOINT in a child stage resets the CMD it inherits; ONBUILD triggers run
    child = _name()
    made.append(child)
    ctx2 = _context(tmp_path / "child", {"Dockerfile": f"FROM {tag}\nUSER root\nENTRYPOINT [\"cat\"]\n"})
    r = _build(daemon, ctx2, "-t", child)
    assert r.returncode == 0 and "# Executing 1 build trigger" in r.stdout.decode(), r.stderr
    assert "triggered" in r.stdout.decode()
    cfg = daemon.client().api.inspect_image(child)["Config"]
    assert cfg["Entrypoint"] == ["cat"] and cfg["Cmd"] is None and not cfg.get("OnBuild")


def test_multistage_target_args_and_copy_rules(daemon, docker_cli, made, tmp_path):
    tag = _name()
    made.append(tag)
    ctx = _context(tmp_path, {
        "Dockerfile": (
            "ARG BASE=busybox\nFROM ${BASE} AS build\nARG GREETING=hello\nARG EMPTY\n"
            "RUN echo \"$GREETING ${EMPTY:-dflt} ${GREETING:+set}\" > /greeting\n"
            "COPY src/ /out/\nCOPY --chown=1:1 --chmod=600 src/a.txt /owned\n"
            "COPY src/*.txt /glob/\nCOPY src/a.txt /renamed.txt\nADD arch.tar /extracted/\n"
            "FROM busybox AS never\nRUN exit 1\n"
            "FROM busybox\nCOPY --from=build /greeting /out /final/\n"
            "COPY --from=0 /owned /glob/a.txt /renamed.txt /final2/\n"),
        "src/a.txt": "a\n", "src/sub/b.txt": "b\n"})
    import tarfile
    with tarfile.open(ctx / "arch.tar", "w") as tf:
        tf.add(ctx / "src", arcname="inner")
    r = _build(daemon, ctx, "-t", tag, "--build-arg", "GREETING=hi", "--build-arg", "UNUSED=1")
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr + r.stdout
    assert "exit 1" not in out, "a stage the target does not need was built"
    assert "[Warning] One or more build-args [UNUSED] were not consumed" in out
    r = daemon.docker("run", "--rm", tag, "sh", "-c",
                      "cat /final/greeting; ls /final /final/sub")
    lines = r.stdout.decode().split("\n")
    assert lines[0] == "hi dflt set", r.stdout
    assert {"a.txt", "greeting", "sub", "b.txt"} <= set(lines)
    r = daemon.docker("run", "--rm", tag, "stat", "-c", "%a %u %g", "/final2/owned")
    assert r.stdout == b"600 0 0\n"  # COPY --from without --chown: root, as Docker does
    # --target builds the named stage only; its ADD unpacked the local tar
    stage = _name()
    made.append(stage)
    r = _build(daemon, ctx, "-t", stage, "--target", "build")
    assert r.returncode == 0, r.stderr
    r = daemon.docker("run", "--rm", stage, "sh", "-c", "cat /extracted/inner/sub/b.txt /renamed.txt /glob/a.txt")
    assert r.stdout == b"b\na\na\n", r.stderr
    history = " ".join(h["CreatedBy"] for h in daemon.client().api.history(stage))
    assert "|1 GREETING=hello /bin/sh -c echo" in history  # declared args key RUN's cache


def test_dockerignore_and_dockerfile_outside_context(daemon, docker_cli, made, tmp_path):
    tag = _name()
    made.append(tag)
    ctx = _context(tmp_path / "ctx", {
        ".dockerignore": "*.log\nsecret*\n!secret-ok\n**/tmp\n",
        "keep.txt": "k\n", "a.log": "x\n", "secret": "s\n", "secret-ok": "ok\n",
        "deep/dir/tmp/f": "t\n", "deep/dir/g": "g\n"})
    dockerfile = _context(tmp_path / "elsewhere", {"build.df": "FROM busybox\nCOPY . /c/\n"}) / "build.df"
    r = daemon.docker("build", "-t", tag, "-f", str(dockerfile), str(ctx))
    assert r.returncode == 0, r.stderr
    r = daemon.docker("run", "--rm", tag, "find", "/c", "-type", "f")
    files = set(r.stdout.decode().split())
    assert {"/c/keep.txt", "/c/secret-ok", "/c/deep/dir/g"} <= files
    assert not files & {"/c/a.log", "/c/secret", "/c/deep/dir/tmp/f"}


def test_stdin_dockerfile_and_quiet(daemon, docker_cli, made):
    r = daemon.docker("build", "-q", "-", input=b"FROM busybox\nRUN echo quiet-output\n")
    assert r.returncode == 0, r.stderr
    image_id = r.stdout.decode().strip()
    made.append(image_id)
    assert image_id.startswith("sha256:") and "quiet-output" not in r.stdout.decode()
