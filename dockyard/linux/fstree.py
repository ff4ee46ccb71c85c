"""Iterative, fd-relative file-tree walks (visit, size, remove): no recursion, no PATH_MAX limit.

A container can make a tree thousands of levels deep, deeper than Python's recursion limit and
longer than PATH_MAX (4096) as a path. Every walk here holds one directory fd at a time, goes
down with openat(name) and back up with openat("..") checked against the inode it came from, so
depth costs neither stack nor fds, and no path longer than one name is ever handed to the kernel.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import BinaryIO, Iterator

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class Entry:
    """One name met by `walk`; `dir_fd` is valid only until the walk takes its next step."""

    rel: str              # path from the top, "a/b/c" (may be longer than PATH_MAX)
    name: str
    st: os.stat_result    # lstat: symlinks are never followed
    dir_fd: int

    @property
    def proc_path(self) -> str:
        """A short path naming this entry (for calls without dir_fd, e.g. getxattr)."""
        return f"/proc/self/fd/{self.dir_fd}/{self.name}"

    def open(self) -> BinaryIO:
        """The regular file, opened for reading without following a symlink."""
        fd = os.open(self.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.dir_fd)
        return os.fdopen(fd, "rb")

    def readlink(self) -> str:
        return os.readlink(self.name, dir_fd=self.dir_fd)


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _up(fd: int, expected: tuple[int, int]) -> int:
    """The parent of the directory `fd` (closed), refused if it is not the one we came from."""
    parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
    os.close(fd)
    if _identity(os.fstat(parent)) != expected:
        os.close(parent)
        raise OSError(errno.ESTALE, "directory tree changed during the walk")
    return parent


def _down(fd: int, name: str) -> int:
    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
    os.close(fd)
    return child


def walk(top: str) -> Iterator[Entry]:
    """Every entry under the directory `top`, depth first, parents before children, sorted by name.

    Directories are entered (never symlinks to them); mounts inside are crossed, as a reader
    of the tree (docker cp, export) sees them. Entries that vanish mid-walk are skipped.
    """
    fd = os.open(top, _DIR_FLAGS)
    frames: list[tuple[str, list[str], tuple[int, int]]] = [
        ("", sorted(os.listdir(fd), reverse=True), _identity(os.fstat(fd)))]
    try:
        while frames:
            rel, names, ident = frames[-1]
            if not names:
                frames.pop()
                if frames:
                    fd = _up(fd, frames[-1][2])
                continue
            name = names.pop()
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            child = f"{rel}/{name}" if rel else name
            yield Entry(child, name, st, fd)
            if stat.S_ISDIR(st.st_mode):
                try:
                    fd_child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except (FileNotFoundError, NotADirectoryError):
                    continue
                os.close(fd)
                fd = fd_child
                frames.append((child, sorted(os.listdir(fd), reverse=True), _identity(os.fstat(fd))))
    finally:
        os.close(fd)


def tree_size(top: str) -> int:
    """Bytes of regular files under `top` (hardlinks counted once), like Docker's directory.Size."""
    seen: set[tuple[int, int]] = set()
    total = 0
    try:
        entries = walk(top)
        for e in entries:
            if not stat.S_ISREG(e.st.st_mode):
                continue
            if e.st.st_nlink > 1:
                if _identity(e.st) in seen:
                    continue
                seen.add(_identity(e.st))
            total += e.st.st_size
    except FileNotFoundError:
        pass
    return total


def remove_tree(path: str | os.PathLike[str], ignore_errors: bool = False) -> None:
    """Remove `path` and everything under it; nothing to do if it is gone.

    Never follows a symlink and never enters another filesystem (a mount still inside the
    tree makes the removal fail with EBUSY rather than delete what is mounted there).
    Raises OSError when something cannot be removed (unless `ignore_errors`); what could be
    removed before that is gone.
    """
    try:
        _remove(os.fspath(path))
    except OSError:
        if not ignore_errors:
            raise


def _remove(path: str) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
        return
    fd = os.open(path, _DIR_FLAGS)
    dev = st.st_dev
    stack: list[tuple[str, tuple[int, int]]] = [("", _identity(os.fstat(fd)))]
    try:
        while True:
            sub = _empty_files(fd, dev)
            if sub is not None:
                fd = _down(fd, sub)
                stack.append((sub, _identity(os.fstat(fd))))
                continue
            name, _ = stack.pop()
            if not stack:
                break
            fd = _up(fd, stack[-1][1])
            os.rmdir(name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def _empty_files(fd: int, dev: int) -> str | None:
    """Unlink every non-directory in `fd`; the name of a subdirectory left to empty, if any."""
    with os.scandir(fd) as it:
        for e in it:
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                try:
                    os.unlink(e.name, dir_fd=fd)
                except FileNotFoundError:
                    pass
                continue
            if st.st_dev != dev:
                raise OSError(errno.EBUSY, "a mount is still inside the tree", e.name)
            try:
                os.rmdir(e.name, dir_fd=fd)  # most directories are empty by the time we meet them
            except OSError as err:
                if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    return e.name
                if err.errno != errno.ENOENT:
                    raise
    return None
