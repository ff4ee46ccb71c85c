"""`config`: the fully resolved model as YAML or JSON, the way `docker compose config` prints it."""
from __future__ import annotations

import json
from typing import Any

from dockyard.compose.model import Project


def _service(svc: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in svc.items() if k != "scale" or v != 1}
    if not out.get("environment"):
        out.pop("environment", None)
    return out


def model(project: Project) -> dict[str, Any]:
    out: dict[str, Any] = {"name": project.name,
                           "services": {n: _service(s) for n, s in sorted(project.services.items())}}
    for section in ("networks", "volumes", "secrets", "configs"):
        value = getattr(project, section)
        if value:
            out[section] = dict(sorted(value.items()))
    out.update(project.extensions)
    return out


def render(project: Project, fmt: str = "yaml") -> str:
    data = model(project)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    import yaml

    return str(yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False,
                         default_flow_style=False, allow_unicode=True, width=1 << 16))
