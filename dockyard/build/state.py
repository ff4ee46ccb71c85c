"""The state of one stage while it builds: the image so far, its run config, and the declared ARGs."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .dockerfile import Stage

DEFAULT_SHELL = ["/bin/sh", "-c"]
# Args every build accepts without an ARG line; they reach RUN but stay out of the image's history.
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
              "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")


def run_config(image_config: dict[str, Any] | None) -> dict[str, Any]:
    """The builder's working copy of an image's Config (what the next image will carry)."""
    cfg = copy.deepcopy((image_config or {}).get("config") or {})
    for key in ("Hostname", "Domainname", "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
                "OpenStdin", "StdinOnce"):
        cfg.setdefault(key, "" if key in ("Hostname", "Domainname") else False)
    cfg.setdefault("User", "")
    cfg.setdefault("Env", None)
    cfg.setdefault("Cmd", None)
    cfg.setdefault("Image", "")
    cfg.setdefault("Volumes", None)
    cfg.setdefault("WorkingDir", "")
    cfg.setdefault("Entrypoint", None)
    cfg.setdefault("OnBuild", None)
    cfg.setdefault("Labels", None)
    return cfg


@dataclass
class StageState:
    stage: Stage
    image_id: str | None                 # None: scratch and nothing committed yet
    config: dict[str, Any]
    build_args: dict[str, str]           # --build-arg values
    meta_args: dict[str, str | None]     # values of the ARGs before the first FROM
    args: dict[str, str | None] = field(default_factory=dict)  # ARGs declared in this stage
    cmd_set: bool = False                # a CMD in this stage: ENTRYPOINT then keeps Cmd
    escape: str = "\\"
    author: str = ""

    @property
    def shell(self) -> list[str]:
        return list(self.config.get("Shell") or DEFAULT_SHELL)

    def env(self) -> list[str]:
        """The environment words expand in: ENV first (it wins), then the declared ARGs."""
        env = list(self.config.get("Env") or [])
        keys = {e.partition("=")[0] for e in env}
        return env + [f"{k}={v}" for k, v in self.args.items() if v is not None and k not in keys]

    def run_args(self) -> dict[str, str]:
        """The build args a RUN sees as environment: declared ones with a value, and given proxies."""
        keys = {e.partition("=")[0] for e in self.config.get("Env") or []}
        out = {k: v for k, v in self.args.items() if v is not None and k not in keys}
        for k in PROXY_ARGS:
            if k in self.build_args and k not in keys and k not in out:
                out[k] = self.build_args[k]
        return out

    def declare(self, name: str, default: str | None) -> None:
        if name in self.build_args:
            value: str | None = self.build_args[name]
        elif default is not None:
            value = default
        else:
            value = self.meta_args.get(name)
        self.args[name] = value
