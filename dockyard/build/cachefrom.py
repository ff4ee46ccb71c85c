"""`--cache-from`: a step is also a hit when a given image's history continues the parent's with
the same step, as Docker's classic builder matches; the hit is restored as a new image on the
parent that reuses the source image's stored layer.
"""
from __future__ import annotations

import json
from typing import Any

from .. import errors
from ..images import commit as committer
from ..images.store import chain_id


def _history(cfg: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(h.get("created_by", ""), bool(h.get("empty_layer"))) for h in cfg.get("history") or []]


def find_in_sources(images: Any, parent: str | None, created_by: str, cfg: dict[str, Any],
                    cc: dict[str, Any], sources: list[str]) -> str | None:
    """The restored image for this step from the first source that has it, or None."""
    base = json.loads(images.store.config_bytes(parent)) if parent else {}
    base_hist = _history(base)
    base_diffs = list((base.get("rootfs") or {}).get("diff_ids") or [])
    for name in sources:
        try:
            src_id = images.resolve(name)
        except errors.DockyardError:
            continue
        src = json.loads(images.store.config_bytes(src_id))
        hist = _history(src)
        diffs = list((src.get("rootfs") or {}).get("diff_ids") or [])
        n = len(base_hist)
        if len(hist) <= n or hist[:n] != base_hist or diffs[:len(base_diffs)] != base_diffs:
            continue
        step_by, empty = hist[n]
        if step_by != created_by:
            continue
        reuse = None
        if not empty:
            if len(diffs) <= len(base_diffs):
                continue
            chain: str | None = None
            for d in diffs[:len(base_diffs) + 1]:
                chain = chain_id(chain, d)
            if chain is None or images.store.layer(chain) is None:
                continue
            reuse = (chain, diffs[len(base_diffs)])
        return committer.child_image(images, parent, cfg, cc, created_by, reuse_layer=reuse)
    return None
