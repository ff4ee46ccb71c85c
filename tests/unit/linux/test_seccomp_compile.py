"""Compiled seccomp filters: built once per profile, loaded as raw BPF in a child."""
from __future__ import annotations

import errno
import os

import pytest

from dockyard.linux import seccomp

PROFILE = {"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}]}


def _has_libseccomp() -> bool:
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


pytestmark = pytest.mark.skipif(not _has_libseccomp(),
                                reason="needs pyseccomp on Debian's libseccomp2 (scripts/setup)")


def test_compiled_once_per_profile():
    first = seccomp.compile_bpf(PROFILE)
    assert first and len(first) % 8 == 0
    assert seccomp.compile_bpf(dict(PROFILE)) is first  # same profile: the cached program


def test_malformed_program_is_refused():
    with pytest.raises(OSError):
        seccomp.CompiledFilter(b"\x00" * 7)


def test_loaded_program_filters_the_child():
    bpf = seccomp.compile_bpf(PROFILE)
    pid = os.fork()
    if pid == 0:  # the filter goes into the child only; the test process stays unfiltered
        code = 3
        try:
            from dockyard.linux.process import set_no_new_privs
            set_no_new_privs()  # loading without CAP_SYS_ADMIN needs no_new_privs
            seccomp.CompiledFilter(bpf).load()
            try:
                os.getcwd()
                code = 1
            except OSError as e:
                code = 0 if e.errno == errno.EPERM else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert os.getcwd()  # the parent is not filtered
