"""VolumeDriver plugins end to end: the docker CLI and docker-py against a daemon whose volume
plugin is a real process (tests/plugins/servers/volume_dir.py) found by its socket file."""
from __future__ import annotations

import json
from pathlib import Path

from tests.plugins.conftest import PluginDirs
from tests.plugins.servers import PluginProcess


def calls(dirs: PluginDirs, method: str) -> list[dict]:
    log = dirs.base / "dirvol-calls.log"
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [e for e in entries if e["method"] == method]


def test_create_with_options_inspect_and_remove(plugin_daemon, plugin_dirs: PluginDirs) -> None:
    r = plugin_daemon.docker("volume", "create", "-d", "dirvol", "-o", "note=hello", "pv1")
    assert r.returncode == 0, r.stderr
    v = json.loads(plugin_daemon.docker("volume", "inspect", "pv1").stdout)[0]
    assert v["Driver"] == "dirvol" and v["Options"] == {"note": "hello"}
    assert v["Mountpoint"] == str(plugin_dirs.base / "dirvol" / "volumes" / "pv1")
    activate = calls(plugin_dirs, "Plugin.Activate")
    assert len(activate) == 1 and activate[0]["content_type"] == "application/vnd.docker.plugins.v1.2+json"
    assert calls(plugin_dirs, "VolumeDriver.Create")[0]["payload"] == {"Name": "pv1", "Opts": {"note": "hello"}}
    assert b"pv1" in plugin_daemon.docker("volume", "ls", "-q").stdout.split()
    info = json.loads(plugin_daemon.docker("info", "--format", "{{json .Plugins.Volume}}").stdout)
    assert info == ["local", "dirvol"]
    assert plugin_daemon.docker("volume", "rm", "pv1").returncode == 0
    assert not (plugin_dirs.base / "dirvol" / "volumes" / "pv1").exists()


def test_refused_options_and_unknown_plugin_are_clear(plugin_daemon) -> None:
    r = plugin_daemon.docker("volume", "create", "-d", "dirvol", "-o", "colour=red", "pv2")
    assert r.returncode != 0
    assert 'create pv2: VolumeDriver.Create: invalid option key: "colour"' in r.stderr.decode()
    r = plugin_daemon.docker("volume", "create", "-d", "nope", "pv3")
    assert 'plugin "nope" not found' in r.stderr.decode()
    assert plugin_daemon.docker("volume", "ls", "-q").stdout.split() == []


def test_run_mounts_with_an_id_and_unmounts_with_the_same(plugin_daemon, plugin_dirs: PluginDirs) -> None:
    plugin_daemon.docker("volume", "create", "-d", "dirvol", "pvrun", check=True)
    r = plugin_daemon.docker("run", "--rm", "-v", "pvrun:/data", "busybox", "sh", "-c",
                             "echo from-container > /data/f && cat /data/f")
    assert r.returncode == 0 and r.stdout == b"from-container\n", r.stderr
    assert (plugin_dirs.base / "dirvol" / "volumes" / "pvrun" / "f").read_text() == "from-container\n"
    mounts, unmounts = calls(plugin_dirs, "VolumeDriver.Mount"), calls(plugin_dirs, "VolumeDriver.Unmount")
    assert len(mounts) == 1 and len(unmounts) == 1
    assert mounts[0]["payload"]["ID"] == unmounts[0]["payload"]["ID"] and len(mounts[0]["payload"]["ID"]) == 64
    # two containers at once: two Mounts with two IDs, and the volume stays until both unmount
    for name in ("pa", "pb"):
        plugin_daemon.docker("run", "-d", "--name", name, "-v", "pvrun:/data", "busybox", "sleep", "300",
                             check=True)
    ids = {m["payload"]["ID"] for m in calls(plugin_dirs, "VolumeDriver.Mount")[1:]}
    assert len(ids) == 2
    r = plugin_daemon.docker("volume", "rm", "pvrun")
    assert r.returncode != 0 and "volume is in use" in r.stderr.decode()
    plugin_daemon.docker("rm", "-f", "pa", "pb", check=True)
    assert {u["payload"]["ID"] for u in calls(plugin_dirs, "VolumeDriver.Unmount")[1:]} == ids
    assert plugin_daemon.docker("volume", "rm", "pvrun").returncode == 0


def test_docker_py_and_listing_from_the_plugin_after_a_restart(plugin_dirs: PluginDirs,
                                                               volume_plugin: PluginProcess) -> None:
    from tests.support.daemon import private_daemon

    with private_daemon(extra_config=plugin_dirs.config()) as d:
        client = d.client()
        v = client.volumes.create(name="pyvol", driver="dirvol", driver_opts={"note": "py"})
        assert v.attrs["Driver"] == "dirvol" and v.attrs["Options"] == {"note": "py"}
        d.kill()
        # a volume the plugin has that this daemon never created (made through the plugin itself)
        (plugin_dirs.base / "dirvol" / "volumes" / "made-elsewhere").mkdir()
        d.start()
        names = {x.name: x.attrs["Driver"] for x in d.client().volumes.list()}
        assert names == {"pyvol": "dirvol", "made-elsewhere": "dirvol"}
        r = d.docker("run", "--rm", "-v", "made-elsewhere:/m", "busybox", "ls", "/m")
        assert r.returncode == 0, r.stderr
        assert d.client().volumes.get("pyvol").attrs["Mountpoint"].endswith("/volumes/pyvol")


def test_a_plugin_that_hangs_crashes_or_babbles_gives_an_error_not_a_hang(
        plugin_daemon, plugin_dirs: PluginDirs, volume_plugin: PluginProcess) -> None:
    r = plugin_daemon.docker("volume", "create", "-d", "dirvol", "-o", "fault=hang", "hung")
    assert r.returncode != 0 and "did not answer within 3s" in r.stderr.decode()
    assert plugin_daemon.docker("version").returncode == 0
    r = plugin_daemon.docker("volume", "create", "-d", "dirvol", "-o", "fault=garbage", "babble")
    assert r.returncode != 0 and "not JSON" in r.stderr.decode()
    r = plugin_daemon.docker("volume", "create", "-d", "dirvol", "-o", "fault=crash", "crashed")
    assert r.returncode != 0 and "VolumeDriver.Create" in r.stderr.decode()
    r = plugin_daemon.docker("volume", "create", "-d", "dirvol", "after")
    assert r.returncode != 0 and "cannot connect to plugin" in r.stderr.decode()
    assert plugin_daemon.docker("volume", "ls").returncode == 0  # the daemon still answers
    volume_plugin.start()  # the plugin comes back: activated again on the next call
    assert plugin_daemon.docker("volume", "create", "-d", "dirvol", "after").returncode == 0
    assert len(calls(plugin_dirs, "Plugin.Activate")) == 2
