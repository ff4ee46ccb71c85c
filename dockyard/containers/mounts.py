"""A container's mounts: -v/Binds, --mount/Mounts, --tmpfs, the image's VOLUMEs, --volumes-from.

At create the specs are validated (Docker's messages) into mount points kept on the container
record; at start they become OCI mounts (volumes mounted through the volume service, image
content copied into a new empty volume); at exit the volumes are released.
"""
from __future__ import annotations

import os
import subprocess
from typing import Any, Callable

from ..errors import InvalidParameter
from ..linux.kernel import Kernel
from ..linux.mount import MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID
from .model import Container
from .seams import Volumes

_PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_BIND_MODES = {"ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated", *_PROPAGATIONS}


def _mount_error(kind: str, message: str) -> InvalidParameter:
    return InvalidParameter(f'invalid mount config for type "{kind}": {message}')


def _abs_target(kind: str, target: str) -> str:
    if not target:
        raise _mount_error(kind, "field Target must not be empty")
    if not target.startswith("/"):
        raise _mount_error(kind, f"invalid mount path: '{target}' mount path must be absolute")
    if os.path.normpath(target) == "/":
        raise _mount_error(kind, "invalid specification: destination can't be '/'")
    return os.path.normpath(target)


def _point(kind: str, dest: str, **kw: Any) -> dict[str, Any]:
    point = {"Type": kind, "Name": "", "Source": "", "Destination": dest, "Driver": "",
             "Mode": "", "RW": True, "Propagation": "", "Copy": kind == "volume"}
    point.update(kw)
    return point


def parse_bind(spec: str) -> dict[str, Any]:
    """-v SRC:DST[:MODE] (Binds): an absolute SRC is a bind mount, else a named volume."""
    parts = spec.split(":")
    if len(parts) == 2:
        src, dst, mode = parts[0], parts[1], ""
    elif len(parts) == 3:
        src, dst, mode = parts
    else:
        raise InvalidParameter(f"invalid volume specification: '{spec}'")
    if not src or not dst:
        raise InvalidParameter(f"invalid volume specification: '{spec}'")
    modes = [m for m in mode.split(",") if m]
    bad = [m for m in modes if m not in _BIND_MODES]
    if bad or ("ro" in modes and "rw" in modes) or \
            sum(m in _PROPAGATIONS for m in modes) > 1:
        raise InvalidParameter(f"invalid mode: {mode}")
    kind = "bind" if src.startswith("/") else "volume"
    try:
        dest = _abs_target(kind, dst)
    except InvalidParameter as e:
        raise InvalidParameter(f"invalid volume specification: '{spec}': {e.message}") from None
    prop = next((m for m in modes if m in _PROPAGATIONS), "")
    if kind == "volume" and prop:
        raise InvalidParameter(f"invalid volume specification: '{spec}': invalid mount config for "
                               'type "volume": field BindOptions must not be specified')
    if kind == "bind":
        return _point("bind", dest, Source=os.path.normpath(src), Mode=mode, RW="ro" not in modes,
                      Propagation=prop or "rprivate", CreateSource=True)
    return _point("volume", dest, Name=src, Driver="", Mode=mode or "z",
                  RW="ro" not in modes, Copy="nocopy" not in modes)


def parse_mount(m: Any) -> dict[str, Any]:
    """One HostConfig.Mounts entry (the --mount syntax)."""
    if not isinstance(m, dict):
        raise InvalidParameter("json: cannot unmarshal into Go struct field HostConfig.Mounts "
                               "of type mount.Mount")
    kind = m.get("Type") or ""
    src = m.get("Source") or ""
    ro = bool(m.get("ReadOnly"))
    if kind not in ("bind", "volume", "tmpfs"):
        if kind == "npipe":
            raise _mount_error(kind, "mount type unknown")
        raise _mount_error(kind, "mount type unknown")
    dest = _abs_target(kind, m.get("Target") or "")
    for field, allowed in (("BindOptions", "bind"), ("VolumeOptions", "volume"),
                           ("TmpfsOptions", "tmpfs")):
        if m.get(field) and kind != allowed:
            raise _mount_error(kind, f"field {field} must not be specified")
    if kind == "bind":
        if not src:
            raise _mount_error(kind, "field Source must not be empty")
        if not src.startswith("/"):
            raise _mount_error(kind, f"invalid mount path: '{src}' mount path must be absolute")
        if not os.path.exists(src):
            raise _mount_error(kind, f"bind source path does not exist: {src}")
        prop = (m.get("BindOptions") or {}).get("Propagation") or "rprivate"
        if prop not in _PROPAGATIONS:
            raise _mount_error(kind, f"invalid propagation mode: {prop}")
        return _point("bind", dest, Source=os.path.normpath(src), RW=not ro, Propagation=prop)
    if kind == "volume":
        opts = m.get("VolumeOptions") or {}
        driver = (opts.get("DriverConfig") or {}).get("Name") or ""
        return _point("volume", dest, Name=src, Driver=driver, RW=not ro,
                      Copy=not opts.get("NoCopy"), Labels=opts.get("Labels") or {},
                      DriverOpts=(opts.get("DriverConfig") or {}).get("Options") or {})
    if src:
        raise _mount_error(kind, "field Source must not be specified")
    tmpfs = m.get("TmpfsOptions") or {}
    return _point("tmpfs", dest, RW=not ro, Copy=False, Tmpfs=_tmpfs_options(
        tmpfs.get("SizeBytes"), tmpfs.get("Mode")))


def _tmpfs_options(size: Any, mode: Any) -> list[str]:
    opts = ["nosuid", "nodev", "noexec"]
    if size:
        if not isinstance(size, int) or size < 0:
            raise _mount_error("tmpfs", f"invalid tmpfs size: {size}")
        opts.append(f"size={size}")
    if mode:
        opts.append(f"mode={int(mode):o}")
    return opts


def parse_tmpfs(dest: str, options: str) -> dict[str, Any]:
    """--tmpfs /run:rw,size=64m (HostConfig.Tmpfs): options are passed to tmpfs as given."""
    dest = _abs_target("tmpfs", dest)
    opts = [o for o in (options or "").split(",") if o]
    ro = "ro" in opts
    base = ["nosuid", "nodev", "noexec"]
    return _point("tmpfs", dest, RW=not ro, Copy=False, Listed=False,
                  Tmpfs=base + [o for o in opts if o not in ("ro", "rw")])


def parse_all(config: dict[str, Any], host: dict[str, Any], image_volumes: dict[str, Any] | None,
              volumes_from: Callable[[str], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every mount point of a new container, later ones for the same destination winning the
    way Docker's do: VolumesFrom < image VOLUME/Config.Volumes < Binds < Mounts < Tmpfs."""
    points: dict[str, dict[str, Any]] = {}
    for ref in host.get("VolumesFrom") or []:
        for p in volumes_from(ref):
            points[p["Destination"]] = p
    for dest in list((image_volumes or {})) + list(config.get("Volumes") or {}):
        d = _abs_target("volume", dest)
        if d not in points:
            points[d] = _point("volume", d, Driver="local", Anonymous=True)
    explicit: set[str] = set()

    def put(p: dict[str, Any]) -> None:
        if p["Destination"] in explicit:
            raise InvalidParameter(f"Duplicate mount point: {p['Destination']}")
        explicit.add(p["Destination"])
        points[p["Destination"]] = p

    for spec in host.get("Binds") or []:
        if not isinstance(spec, str):
            raise InvalidParameter("invalid volume specification: binds must be strings")
        put(parse_bind(spec))
    for m in host.get("Mounts") or []:
        put(parse_mount(m))
    for dest, opts in (host.get("Tmpfs") or {}).items():
        put(parse_tmpfs(dest, opts or ""))
    return sorted(points.values(), key=lambda p: p["Destination"].count("/"))


def from_container(c: Container, mode: str) -> list[dict[str, Any]]:
    """--volumes-from C[:ro|rw]: C's volumes and binds (not its tmpfs)."""
    out = []
    for p in getattr(c, "mounts", None) or []:
        if p["Type"] == "tmpfs":
            continue
        q = {k: v for k, v in p.items() if k not in ("Anonymous", "CreateSource")}
        q["Copy"] = False
        if mode == "ro":
            q["RW"] = False
        elif mode == "rw":
            q["RW"] = True
        out.append(q)
    return out


def create_sources(c: Container, volumes: Volumes) -> None:
    """At create: named volumes exist (made on demand), anonymous ones get a name, and a missing
    -v host path is made (Docker does; --mount refuses it at parse time)."""
    for p in c.mounts:
        if p["Type"] == "volume":
            # no driver named: an existing volume of any driver, else a new local one (Docker's rule)
            v = volumes.create(p.get("Name") or None, p.get("Driver") or None,
                               p.pop("DriverOpts", None) or None, p.pop("Labels", None) or None,
                               anonymous=bool(p.get("Anonymous")))
            p["Name"], p["Source"], p["Driver"] = v.name, v.mountpoint, v.driver
        elif p["Type"] == "bind" and p.pop("CreateSource", False) and not os.path.exists(p["Source"]):
            os.makedirs(p["Source"], mode=0o755, exist_ok=True)


def volume_names(c: Container) -> list[str]:
    return [p["Name"] for p in getattr(c, "mounts", None) or [] if p["Type"] == "volume"]


def anonymous_volumes(c: Container) -> list[str]:
    return [p["Name"] for p in getattr(c, "mounts", None) or []
            if p["Type"] == "volume" and p.get("Anonymous")]


def oci_mounts(c: Container, volumes: Volumes) -> list[dict[str, Any]]:
    """At start (the rootfs is mounted): mount each volume and describe every mount for OCI."""
    out = []
    done: list[str] = []
    try:
        for p in c.mounts:
            ro = [] if p["RW"] else ["ro"]
            if p["Type"] == "tmpfs":
                out.append({"destination": p["Destination"], "type": "tmpfs", "source": "tmpfs",
                            "options": list(p.get("Tmpfs") or []) + ro})
                continue
            if p["Type"] == "volume":
                source = volumes.mount(p["Name"], c.id)
                done.append(p["Name"])
                p["Source"] = source
                if p.get("Copy"):
                    copy_image_content(c.rootfs, p["Destination"], source)
                    p["Copy"] = False  # only into a new volume, the first time
            else:
                source = p["Source"]
            out.append({"destination": p["Destination"], "type": "bind", "source": source,
                        "options": ["rbind", p.get("Propagation") or "rprivate", *ro]})
    except BaseException:
        for name in done:
            volumes.unmount(name, c.id)
        raise
    return out


def release(c: Container, volumes: Volumes) -> None:
    for name in volume_names(c):
        try:
            volumes.unmount(name, c.id)
        except Exception:  # noqa: BLE001 - a failed unmount must not stop the exit bookkeeping
            pass


def copy_image_content(rootfs: str, dest: str, volume_dir: str) -> None:
    """Like Docker: the image's files at `dest` seed an empty volume (ownership and modes too)."""
    from ..runtime.rootfs import secure_join

    src = secure_join(rootfs, dest)
    if not os.path.isdir(src) or os.listdir(volume_dir):
        return
    if os.listdir(src):
        out = subprocess.run(["cp", "-a", "--", src + "/.", volume_dir], capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise InvalidParameter(f"failed to copy image content into the volume: {out.stderr.strip()}")
    st = os.stat(src)
    os.chown(volume_dir, st.st_uid, st.st_gid)
    os.chmod(volume_dir, st.st_mode & 0o7777)


def render(p: dict[str, Any]) -> dict[str, Any]:
    """A mount point as `Mounts` of inspect and ps show it."""
    out = {"Type": p["Type"], "Source": p.get("Source", ""), "Destination": p["Destination"],
           "Mode": p.get("Mode", ""), "RW": p["RW"], "Propagation": p.get("Propagation", "")}
    if p["Type"] == "volume":
        out = {"Type": "volume", "Name": p["Name"], **{k: v for k, v in out.items() if k != "Type"},
               "Driver": p.get("Driver") or "local"}
    return out




def shareable_shm_path(c: Container) -> str:
    return os.path.join(c.root_dir, "shm")


def mount_shareable_shm(c: Container, kernel: Kernel | None = None) -> str:
    """--ipc shareable: /dev/shm is a tmpfs on the host, so that --ipc container:X can bind it."""
    k = kernel or Kernel()
    path = shareable_shm_path(c)
    os.makedirs(path, mode=0o700, exist_ok=True)
    if not k.is_mountpoint(path):
        size = int(c.host_config.get("ShmSize") or 64 * 1024 * 1024)
        k.mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"mode=1777,size={size}")
    return path


def unmount_shareable_shm(c: Container, kernel: Kernel | None = None) -> None:
    k = kernel or Kernel()
    path = shareable_shm_path(c)
    if k.is_mountpoint(path):
        k.umount(path, MNT_DETACH)
