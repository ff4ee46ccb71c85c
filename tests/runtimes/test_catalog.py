"""The runtime catalog (runtime/catalog.py): the one BUILTIN list, daemon.json entries, refusals."""
from __future__ import annotations

import shutil

import pytest

from dockyard import errors
from dockyard.runtime import catalog


def test_builtin_first_then_installed_clis_then_daemon_json() -> None:
    offered = catalog.available({"mine": {"path": "/opt/mine"}, "runc": {"path": "/opt/runc"}})
    names = list(offered)
    assert names[0] == "builtin" and offered["builtin"] == "builtin"
    assert offered["mine"] == "/opt/mine" and offered["runc"] == "/opt/runc"  # daemon.json overrides
    for cli in catalog.KNOWN_CLI:
        if shutil.which(cli) and cli != "runc":
            assert offered[cli] == shutil.which(cli)


def test_every_known_runtime_has_a_unique_name() -> None:
    names = [k.name for k in catalog.BUILTIN]
    assert len(names) == len(set(names)) and catalog.BUILTIN_NAME in names


def test_unknown_runtime_is_dockers_message() -> None:
    with pytest.raises(errors.InvalidParameter, match="Unknown runtime specified nosuch"):
        catalog.resolve("nosuch", catalog.available())


def test_usable_runtimes_resolve_and_refused_ones_say_why() -> None:
    offered = catalog.available()
    for name in catalog.usable():
        assert catalog.resolve(name, offered) == offered[name]
    for name in set(offered) - set(catalog.usable()):
        with pytest.raises(errors.InvalidParameter, match="cannot run containers on this host"):
            catalog.resolve(name, offered)
