"""An authorization plugin: allows every request but DELETE, and denies the response of any
request for a volume named `secret` (to show a denial after the handler ran)."""
from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from base import arguments, serve  # noqa: E402 - a script beside its helper


def activate(_: dict[str, Any]) -> Any:
    return {"Implements": ["authz"]}


def authz_req(req: dict[str, Any]) -> Any:
    if req.get("RequestMethod") == "DELETE":
        return {"Allow": False, "Msg": "DELETE is not allowed here"}
    return {"Allow": True}


def authz_res(req: dict[str, Any]) -> Any:
    if "/volumes/secret" in (req.get("RequestURI") or ""):
        return {"Allow": False, "Msg": "that volume is secret"}
    return {"Allow": True}


def main() -> None:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    serve(args.socket, {"Plugin.Activate": activate, "AuthZPlugin.AuthZReq": authz_req,
                        "AuthZPlugin.AuthZRes": authz_res}, args.calls_log)


if __name__ == "__main__":
    main()
