"""`docker rmi`: Docker 20.10's untag/delete rules, conflicts and layer release."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import Conflict
from .reference import Reference, familiar, parse_normalized, short_id

if TYPE_CHECKING:
    from .service import ImageService

Lister = Callable[[str], list[str]]
# Conflict kinds, as in moby's daemon/images/image_delete.go.
CHILD, RUNNING, REFERENCE, STOPPED = 1, 2, 4, 8
HARD, SOFT = CHILD | RUNNING, REFERENCE | STOPPED


class _DeleteConflict(Conflict):
    def __init__(self, image_id: str, hard: bool, used: bool, message: str) -> None:
        how = "cannot be forced" if hard else "must be forced"
        super().__init__(f"conflict: unable to delete {short_id(image_id)} ({how}) - {message}")
        self.used = used


def _is_single_reference(refs: list[Reference]) -> bool:
    """All references are in one repository and at most one of them is a tag."""
    if len(refs) <= 1:
        return len(refs) == 1
    single = None
    canonical = set()
    for r in refs:
        if r.digest is not None:
            canonical.add(r.name)
        elif single is None:
            single = r
        else:
            return False
    if single is None:
        single = refs[0]
    return len(canonical) == 1 and single.name in canonical


def remove(svc: "ImageService", name: str, force: bool, prune: bool, using: Lister,
           running: Lister | None) -> list[dict]:
    store = svc.store
    with store.lock:
        image_id = svc.resolve(name)
        records: list[dict] = []
        refs = [parse_normalized(r) for r in store.refs_of(image_id)]
        # Docker cannot tell running from stopped without the second lister: all count as stopped.
        running_ids = running(image_id) if running else []
        stopped_ids = [c for c in using(image_id) if c not in running_ids]
        users = running_ids + stopped_ids
        by_id = _is_id_prefix(image_id, name)
        removed_ref = False
        if not by_id:
            if not force and _is_single_reference(refs) and users:
                raise Conflict(f'conflict: unable to remove repository reference "{name}" (must force) - '
                               f"container {short_id(users[0])} is using its referenced image {short_id(image_id)}")
            ref = parse_normalized(name).with_default_tag()
            _delete_refs(svc, [ref])
            records.append({"Untagged": ref.familiar()})
            refs = [r for r in refs if str(r) != str(ref)]
            if ref.digest is None and not any(r.digest is None and r.name == ref.name for r in refs):
                # The last tag of a repository takes that repository's digests with it.
                same = [r for r in refs if r.digest is not None and r.name == ref.name]
                _delete_refs(svc, same)
                records += [{"Untagged": r.familiar()} for r in same]
                refs = [r for r in refs if r not in same]
            if refs:
                return records
            removed_ref = True
        elif _is_single_reference(refs):
            mask = HARD if force else HARD | (SOFT & ~REFERENCE)
            conflict = _conflict(svc, image_id, mask, running_ids, stopped_ids)
            if conflict is not None:
                raise conflict
            _delete_refs(svc, refs)
            records += [{"Untagged": r.familiar()} for r in refs]
        _delete_image(svc, image_id, records, force, prune, removed_ref, running_ids, stopped_ids, using, running)
        return records


def _is_id_prefix(image_id: str, name: str) -> bool:
    """Docker's isImageIDPrefix: the name given is (a prefix of) the ID, with or without `sha256:`."""
    return image_id.startswith(name) or image_id.split(":", 1)[1].startswith(name)


def _delete_refs(svc: "ImageService", refs: list[Reference]) -> None:
    with svc.store.db.transaction() as cur:
        for r in refs:
            cur.execute("DELETE FROM image_refs WHERE ref=?", (str(r),))


def _conflict(svc: "ImageService", image_id: str, mask: int, running_ids: list[str],
              stopped_ids: list[str]) -> _DeleteConflict | None:
    store = svc.store
    if mask & CHILD and store.db.query_one("SELECT 1 FROM images WHERE parent=?", (image_id,)):
        return _DeleteConflict(image_id, True, False, "image has dependent child images")
    if mask & RUNNING and running_ids:
        return _DeleteConflict(image_id, True, True,
                               f"image is being used by running container {short_id(running_ids[0])}")
    if mask & REFERENCE and store.refs_of(image_id):
        return _DeleteConflict(image_id, False, False, "image is referenced in multiple repositories")
    if mask & STOPPED and stopped_ids:
        return _DeleteConflict(image_id, False, True,
                               f"image is being used by stopped container {short_id(stopped_ids[0])}")
    return None


def _delete_image(svc: "ImageService", image_id: str, records: list[dict], force: bool, prune: bool,
                  quiet: bool, running_ids: list[str], stopped_ids: list[str], using: Lister,
                  running: Lister | None) -> None:
    store = svc.store
    conflict = _conflict(svc, image_id, HARD if force else HARD | SOFT, running_ids, stopped_ids)
    if conflict is not None:
        # Docker's imageIsDangling: no reference and no child image (a built image's parent
        # chain is not dangling, so untagging it by name is all an rmi does)
        dangling = not store.refs_of(image_id) and not store.db.query_one(
            "SELECT 1 FROM images WHERE parent=?", (image_id,))
        if quiet and (not dangling or conflict.used):
            return  # the untag already did what was asked
        raise conflict
    row = store.image(image_id)
    assert row is not None
    parent = row["parent"]
    refs = store.refs_of(image_id)
    with store.db.transaction() as cur:
        cur.execute("DELETE FROM image_refs WHERE image_id=?", (image_id,))
        cur.execute("DELETE FROM images WHERE id=?", (image_id,))
    records += [{"Untagged": familiar(r)} for r in refs]
    store.content.delete(image_id)
    records.append({"Deleted": image_id})
    records += [{"Deleted": cid} for cid in store.gc_layers(row["top_layer"])]
    if prune and parent and store.image(parent) is not None:
        p_running = running(parent) if running else []
        p_stopped = [c for c in using(parent) if c not in p_running]
        _delete_image(svc, parent, records, False, True, True, p_running, p_stopped, using, running)
