import os

import pytest

from dockyard.runtime.init import ExecError, lookup


def test_lookup_in_path(tmp_path):
    exe = tmp_path / "tool"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert lookup("tool", f"/nonexistent:{tmp_path}") == str(exe)


def test_not_found_message_matches_runc():
    with pytest.raises(ExecError) as e:
        lookup("nosuch", "/nonexistent")
    assert str(e.value) == 'exec: "nosuch": executable file not found in $PATH'
    assert e.value.code == 127


def test_absolute_missing_and_not_executable(tmp_path):
    with pytest.raises(ExecError) as e:
        lookup("/nosuch", "")
    assert str(e.value) == 'exec: "/nosuch": stat /nosuch: no such file or directory'
    assert e.value.code == 127
    f = tmp_path / "data"
    f.write_text("")
    if os.geteuid() != 0:  # root may execute nothing without an x bit either, but access() differs
        with pytest.raises(ExecError) as e:
            lookup(str(f), "")
        assert e.value.code == 126
    with pytest.raises(ExecError) as e:
        lookup(str(tmp_path), "")
    assert str(e.value) == f'exec: "{tmp_path}": permission denied'
    assert e.value.code == 126
