"""The build context: the client's tar (plain or gzip), checked whole, unpacked into a private dir.

Paths from the tar are never trusted: snapshots/extract.check refuses `..`, absolute names
and hardlinks out before anything is written; symlinks are kept as they are and every
source path is later resolved inside the context dir (a link never leads out of it).
"""
from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
import tempfile
from typing import BinaryIO

from ..errors import InvalidParameter
from ..runtime.rootfs import secure_join
from ..snapshots import extract as tarcheck
from ..snapshots.limits import DEFAULT as DEFAULT_LIMITS, UnpackLimits
from . import dockerignore


class BuildContext:
    """A directory holding the context; `close()` removes it."""

    def __init__(self, root: str, workdir: str) -> None:
        self.root = root
        self.workdir = workdir  # the build's private temp dir (root lives inside it)

    @classmethod
    def unpack(cls, body: BinaryIO, tmp_dir: str, limits: UnpackLimits = DEFAULT_LIMITS) -> "BuildContext":
        workdir = tempfile.mkdtemp(prefix="build-", dir=tmp_dir)
        root = os.path.join(workdir, "context")
        os.mkdir(root, 0o700)
        ctx = cls(root, workdir)
        try:
            body.seek(0, os.SEEK_END)
            empty = body.tell() == 0
            body.seek(0)
            if not empty:
                _complete(body)
                tarcheck.check(body, root, limits=limits)  # a bomb is refused before GNU tar runs
                body.seek(0)
                _untar(body, root)
        except BaseException:
            ctx.close()
            raise
        return ctx

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def path(self, rel: str) -> str:
        """The host path of a context path, every link resolved inside the context."""
        return secure_join(self.root, "/" + rel.lstrip("/"))

    def dockerfile(self, name: str) -> str:
        """The Dockerfile's text; the name is relative to the context root (nested is fine)."""
        name = name or "Dockerfile"
        rel = posixpath.normpath(name.lstrip("/"))
        if rel.startswith(".."):
            raise InvalidParameter(f"Cannot locate specified Dockerfile: {name}")
        host = self.path(rel)
        if not os.path.isfile(host) and name == "Dockerfile" and os.path.isfile(self.path("dockerfile")):
            host = self.path("dockerfile")  # Docker accepts the lower-case name too
        try:
            with open(host, "rb") as f:
                data = f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise InvalidParameter(f"Cannot locate specified Dockerfile: {name}") from None
        if not data.strip():
            raise InvalidParameter(f"the Dockerfile ({name}) cannot be empty")
        return data.decode("utf-8", errors="replace")

    def apply_dockerignore(self, dockerfile_name: str) -> None:
        """As Docker's daemon does: drop the Dockerfile and .dockerignore if .dockerignore excludes them.

        Clients filter the rest of the context before they send it.
        """
        try:
            with open(self.path(".dockerignore")) as f:
                text = f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return
        try:
            matcher = dockerignore.Matcher.from_text(text)
        except ValueError as e:
            raise InvalidParameter(f"error reading .dockerignore: {e}") from None
        for rel in (dockerfile_name or "Dockerfile", ".dockerignore"):
            rel = posixpath.normpath(rel.lstrip("/"))
            if matcher.excluded(rel):
                try:
                    os.unlink(self.path(rel))
                except FileNotFoundError:
                    pass


def _complete(body: BinaryIO) -> None:
    """Give an uncompressed tar its padding and end-of-archive blocks if the sender left them out.

    The docker CLI does, when it adds a Dockerfile from outside the context (its tar rewriter
    closes the pipe before the tar writer); Go's reader takes such a tar, so the builder must.
    """
    body.seek(0)
    magic = body.read(6)
    if magic[:2] == b"\x1f\x8b" or magic[:4] == b"\x28\xb5\x2f\xfd" or magic[:3] == b"BZh" \
            or magic == b"\xfd7zXZ\x00":
        body.seek(0)
        return
    size = body.seek(0, os.SEEK_END)
    body.write(b"\0" * ((-size) % 512 + 1024))
    body.flush()
    body.seek(0)


def _untar(body: BinaryIO, root: str) -> None:
    """GNU tar does the unpacking (already checked): several times faster than tarfile."""
    fd = body.fileno()
    proc = subprocess.run(["tar", "-x", "--no-same-owner", "-p", "-f", f"/proc/self/fd/{fd}", "-C", root],
                          pass_fds=(fd,), capture_output=True)
    if proc.returncode != 0:
        raise InvalidParameter("invalid build context: " + proc.stderr.decode(errors="replace").strip()[:500])
