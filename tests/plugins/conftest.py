"""Fixtures for plugin tests: scratch plugin directories, real plugin processes, and a private
daemon told to discover plugins there (never in the host's /run/docker/plugins)."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.plugins.servers import PluginProcess
from tests.support.daemon import private_daemon


@dataclass
class PluginDirs:
    base: Path

    @property
    def sockets(self) -> Path:
        return self.base / "run"

    @property
    def specs(self) -> Path:
        return self.base / "etc"

    def config(self, **extra: object) -> dict[str, object]:
        self.specs.mkdir(parents=True, exist_ok=True)
        return {"plugin-socket-dirs": [str(self.sockets)], "plugin-spec-dirs": [str(self.specs)],
                "plugin-timeout": 3, "plugin-retry-timeout": 1, **extra}


@pytest.fixture()
def plugin_dirs() -> Iterator[PluginDirs]:
    base = Path(tempfile.mkdtemp(prefix="dytest-plugins-"))
    yield PluginDirs(base)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture()
def volume_plugin(plugin_dirs: PluginDirs) -> Iterator[PluginProcess]:
    with PluginProcess("volume_dir", str(plugin_dirs.sockets / "dirvol.sock"),
                       "--root", str(plugin_dirs.base / "dirvol"),
                       calls_log=str(plugin_dirs.base / "dirvol-calls.log")) as p:
        yield p


@pytest.fixture()
def plugin_daemon(plugin_dirs: PluginDirs, volume_plugin: PluginProcess):
    with private_daemon(extra_config=plugin_dirs.config()) as d:
        yield d
