from __future__ import annotations

import os

from dockyard.containers.changes import changes


def test_changes_from_upper(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for d in ("etc", "bin", "usr/lib"):
        (lower / d).mkdir(parents=True)
    (lower / "etc/passwd").write_text("root\n")
    (lower / "bin/vi").write_text("")
    (upper / "etc").mkdir(parents=True)
    (upper / "etc/passwd").write_text("root\nx\n")
    (upper / "etc/hostname").write_text("")          # the engine's own bind-mount target: not a change
    (upper / "bin").mkdir()
    os.mknod(upper / "bin/vi", 0o600 | 0o020000, os.makedev(0, 0))   # whiteout
    (upper / "new").mkdir()
    (upper / "new/f").write_text("")
    (upper / "link").symlink_to("/etc/shadow")
    got = changes(str(upper), [str(lower)])
    assert got == [{"Path": "/bin", "Kind": 0}, {"Path": "/bin/vi", "Kind": 2}, {"Path": "/etc", "Kind": 0},
                   {"Path": "/etc/passwd", "Kind": 0}, {"Path": "/link", "Kind": 1}, {"Path": "/new", "Kind": 1},
                   {"Path": "/new/f", "Kind": 1}]
