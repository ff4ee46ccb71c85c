"""GET /system/df: Docker 20.10's disk usage (LayersSize, Images, Containers, Volumes, BuildCache)."""
from __future__ import annotations

from typing import Any


def disk_usage(images: Any, containers: Any, volumes: Any, build: Any) -> dict[str, Any]:
    """Blocking: sizes are read from the stores and the disk."""
    all_containers = containers.store.all()
    per_image: dict[str, int] = {}
    for c in all_containers:
        per_image[c.image_id] = per_image.get(c.image_id, 0) + 1
    image_list = images.list(False, {})
    layer_rows = images.store.db.query("SELECT chain_id, size FROM image_layers")
    users: dict[str, int] = {}
    for item in image_list:
        for layer in images.store.chain((images.store.image(item["Id"]) or {}).get("top_layer")):
            users[layer["chain_id"]] = users.get(layer["chain_id"], 0) + 1
    sizes = {r["chain_id"]: int(r["size"]) for r in layer_rows}
    out_images = []
    for item in image_list:
        chain = images.store.chain((images.store.image(item["Id"]) or {}).get("top_layer"))
        shared = sum(sizes.get(layer["chain_id"], 0) for layer in chain if users.get(layer["chain_id"], 0) > 1)
        out_images.append({**item, "Containers": per_image.get(item["Id"], 0), "SharedSize": shared})
    out_containers = []
    for c in sorted(all_containers, key=lambda c: c.created, reverse=True):
        s = c.to_summary()
        s["SizeRw"] = images.rootfs_size(c.id)
        s["SizeRootFs"] = s["SizeRw"] + int((images.store.image(c.image_id) or {}).get("size") or 0)
        out_containers.append(s)
    out_volumes = []
    if volumes is not None:
        for v in volumes.list({}):
            api = v.to_api()
            api["UsageData"] = {"Size": volumes.usage(v.name), "RefCount": len(containers.volume_users(v.name))}
            out_volumes.append(api)
    return {"LayersSize": sum(sizes.values()), "Images": out_images, "Containers": out_containers,
            "Volumes": out_volumes, "BuildCache": build.usage() if build is not None else []}
