"""Builds the daemon's services from its config and wires them into the API router."""
from __future__ import annotations

import os
import platform
import secrets
from pathlib import Path
from typing import Any, Mapping

from ..api import authz as authz_api
from ..api import build as build_api
from ..api import container_ops as container_ops_api
from ..api import container_files as container_files_api
from ..api import containers as containers_api
from ..api import exec as exec_api
from ..api import images as images_api
from ..api import networks as networks_api
from ..api import system as system_api
from ..api import volumes as volumes_api
from ..api.router import Router
from ..build.service import BuildService
from ..containers.exec import ExecService
from ..containers.health import HealthMonitor
from ..containers.records import ContainerRecords
from ..containers.service import ContainerService
from ..containers.store import ContainerStore
from ..distribution.hosts import RegistryConfig
from ..distribution.service import DistributionService
from ..images.service import ImageService
from ..logging import drivers as log_drivers
from ..network.setup import open_networking
from ..plugins.setup import open_plugins
from ..runtime import catalog as runtime_catalog
from ..runtime.supervisor_client import SupervisorClient
from ..snapshots import drivers as snapshot_drivers
from ..store.db import Database
from ..volumes.drivers import builtin as volume_drivers
from ..volumes.service import VolumeService
from ..volumes.store import VolumeStore
from .config import Config
from .diskusage import disk_usage
from .events import EventBus


class Daemon:
    """The assembled services; also the system routes' backend (`info`)."""

    def __init__(self, config: Config, db: Database, images: ImageService,
                 containers: ContainerService, events: EventBus,
                 plugins: Mapping[str, list[str]] | None = None) -> None:
        self.config = config
        self.plugins = plugins or {}  # kind -> registered driver names, as info's Plugins lists them
        self.db = db
        self.images = images
        self.containers = containers
        self.events = events
        self.id = _daemon_id(config.data_root)
        self.volumes: Any = None
        self.build: Any = None

    def disk_usage(self) -> dict[str, Any]:
        return disk_usage(self.images, self.containers, self.volumes, self.build)

    def info(self) -> dict[str, Any]:
        all_ = self.containers.store.all()
        running = sum(1 for c in all_ if c.state.status == "running")
        paused = sum(1 for c in all_ if c.state.status == "paused")
        facts = system_api.host_facts()
        cgroup_v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        return {
            "ID": self.id, "Containers": len(all_), "ContainersRunning": running,
            "ContainersPaused": paused, "ContainersStopped": len(all_) - running - paused,
            "Images": len(self.images.list(False, {})), "Driver": self.images.store.driver.name,
            "DriverStatus": self.images.store.driver.status(),
            "Plugins": {"Volume": self.plugins.get("Volume", []), "Network": self.plugins.get("Network", []),
                        "Authorization": self.plugins.get("Authorization") or None, "Log": self.plugins.get("Log", [])},
            "MemoryLimit": True, "SwapLimit": True, "KernelMemory": False, "CpuCfsPeriod": True,
            "CpuCfsQuota": True, "CPUShares": True, "CPUSet": True, "PidsLimit": True,
            "IPv4Forwarding": True, "BridgeNfIptables": False, "BridgeNfIp6tables": False,
            "Debug": self.config.log_level == "debug", "NFd": len(os.listdir("/proc/self/fd")),
            "OomKillDisable": True, "NGoroutines": 0, "LoggingDriver": self.config.log_driver,
            "CgroupDriver": "cgroupfs", "CgroupVersion": "2" if cgroup_v2 else "1",
            "NEventsListener": 0, "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {},
                               "Mirrors": list(self.config.registry_mirrors)},
            "GenericResources": None, "HttpProxy": "", "HttpsProxy": "", "NoProxy": "",
            "Labels": [], "ExperimentalBuild": False, "ServerVersion": system_api.ENGINE_VERSION,
            "Runtimes": {name: {"path": "dockyard-runtime" if prog == "builtin" else prog}
                         for name, prog in self.containers.runtimes.items()},
            "DefaultRuntime": self.config.runtime, "LiveRestoreEnabled": True, "Isolation": "",
            "InitBinary": "", "ContainerdCommit": {"ID": "", "Expected": ""},
            "RuncCommit": {"ID": "", "Expected": ""}, "InitCommit": {"ID": "", "Expected": ""},
            "SecurityOptions": ["name=cgroupns"] if cgroup_v2 else [],
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                      "ControlAvailable": False, "Error": "", "RemoteManagers": None},
            "DockerRootDir": str(self.config.data_root), "Warnings": [],
            **facts, "Architecture": platform.machine(),
        }


def _daemon_id(data_root: Path) -> str:
    path = data_root / "engine-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        ident = secrets.token_hex(16)
        path.write_text(ident + "\n")
        return ident


async def assemble(config: Config) -> tuple[Daemon, Router]:
    for d in (config.data_root, config.exec_root, config.data_root / "containers",
              config.data_root / "tmp"):
        d.mkdir(parents=True, exist_ok=True, mode=0o711)
    db = Database(config.data_root / "metadata.db")
    events = EventBus()
    images = ImageService(db, config.data_root, snapshot_drivers.select(config.storage_driver, config.data_root),
                          config.unpack_limits)
    supervisor = await SupervisorClient.connect(str(config.exec_root), config.log_level)
    store = ContainerStore(db)
    records = ContainerRecords(store, events)
    plugin_system = open_plugins(config.extra, config.authorization_plugins)
    volumes = VolumeService(VolumeStore(db),
                            plugin_system.volume_drivers(volume_drivers(str(config.data_root / "volumes"))),
                            events, users=records.volume_users)
    networks, attachments = await open_networking(config.extra, db, config.exec_root, events,
                                                  store.get, plugin_system)
    execs = ExecService(records, supervisor, config.exec_root)
    containers = ContainerService(config.data_root, config.exec_root, records, images, supervisor,
                                  runtime=config.runtime, cgroup_parent=config.cgroup_parent,
                                  network=attachments, volumes=volumes,
                                  health=HealthMonitor(records, execs),  # probes run as execs
                                  runtimes=runtime_catalog.available(config.runtimes), execs=execs,
                                  log_driver=config.log_driver, log_opts=config.log_opts)
    log_drivers.effective({}, config.log_driver, config.log_opts)  # a bad daemon.json default stops start-up
    plugins = plugin_system.info_lists({"Log": log_drivers.names()})
    daemon = Daemon(config, db, images, containers, events, plugins)

    def containers_using(image_id: str) -> list[str]:
        return [c.id for c in store.all() if c.image_id == image_id]

    def containers_running(image_id: str) -> list[str]:
        return [c.id for c in store.all() if c.image_id == image_id and c.state.running]

    config_dir = config.config_file.parent if config.config_file else Path("/etc/dockyard")
    registry = RegistryConfig(config.insecure_registries, config.registry_mirrors,
                              (Path("/etc/docker/certs.d"), config_dir / "certs.d"),
                              config.max_concurrent_downloads, config.max_concurrent_uploads,
                              hub_host=config.hub_host)
    distribution = DistributionService(images, registry, config.data_root / "tmp")

    router = Router()
    if plugin_system.config.authz:
        authz_api.install(router, plugin_system.authorizer())
    system_api.routes(router, daemon)
    containers_api.routes(router, containers)
    volumes_api.routes(router, volumes)
    exec_api.routes(router, execs)
    container_ops_api.routes(router, containers.live, containers.files)
    container_files_api.routes(router, containers.files, str(config.data_root / "tmp"))
    networks_api.routes(router, networks, attachments, store)
    images_api.routes(router, images, str(config.data_root / "tmp"), containers_using,
                      containers_running, events, distribution)
    build = BuildService(db, images, containers, distribution, str(config.data_root / "tmp"),
                         containers_using)
    daemon.volumes, daemon.build = volumes, build
    build_api.routes(router, build, str(config.data_root / "tmp"))
    await containers.restore()
    await build.recover()  # after restore: leftover build containers are known by then
    return daemon, router
