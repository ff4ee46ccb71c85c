"""Adoption at supervisor start-up: the containers and execs of supervisors that died, with the
stdio fds their keeper held and the exit codes it reaped (see runtime/keeper.py)."""
from __future__ import annotations

import glob
import os
from typing import TYPE_CHECKING

from .state import proc_start_time, read_json
from .supervised import Supervised, SupervisedExec

if TYPE_CHECKING:
    from .supervisor import Supervisor


def load(sup: "Supervisor") -> None:
    """Rebuild the containers and execs of the supervisors before us from disk and the keeper."""
    held, exits = sup.keeper.load() if sup.keeper is not None else ({}, {})
    root = os.path.join(sup.exec_root, "containers")
    os.makedirs(root, exist_ok=True)
    for id in os.listdir(root):
        d = os.path.join(root, id)
        try:
            meta = read_json(os.path.join(d, "container.json"))
        except (OSError, ValueError):
            continue
        c = Supervised(sup, id, meta)
        fds = held.pop(id, None)
        try:
            c.record.update(read_json(os.path.join(d, "exit.json")))
        except (OSError, ValueError):
            _adopt(sup, c, fds, exits)
        else:
            _drop_held(sup, id, fds)
        sup.containers[id] = c
        _adopt_execs(sup, c, held, exits)
    for id, fds in held.items():  # held for a container whose record is gone
        _drop_held(sup, id, fds)
    if sup.keeper is not None:
        sup.keeper.ack(list(exits))  # what is left belongs to no container we know


def _adopt(sup: "Supervisor", c: Supervised, fds: dict[str, int] | None, exits: dict[int, int]) -> None:
    """A container whose supervisor died before recording its exit."""
    driver = sup.driver(c.meta.get("runtime") or "builtin")
    if not fds:
        # Nobody kept its stdio: watch it if it still runs (kill and the runtime's delete
        # still work through its driver), else report it as lost.
        c.orphaned(driver)
        return
    c.adopt(driver, fds)
    try:
        reaped = read_json(os.path.join(sup.cdir(c.id), "reaped.json"))
    except (OSError, ValueError):
        reaped = None
    if reaped is not None:  # reaped by the supervisor that died: drain what is left, record it
        c.exited(int(reaped["exit_code"]))
    else:
        await_exit(sup, c, exits)


def _adopt_execs(sup: "Supervisor", c: Supervised, held: dict[str, dict[str, int]], exits: dict[int, int]) -> None:
    """The execs of a container its dead supervisor ran, still held by the keeper."""
    for path in glob.glob(os.path.join(sup.cdir(c.id), "exec-*.json")):
        try:
            meta = read_json(path)
        except (OSError, ValueError):
            continue
        exec_id = os.path.basename(path)[len("exec-"):-len(".json")]
        fds = held.pop("exec:" + exec_id, None)
        if not fds or c.record["status"] != "running" or c.driver is None:
            _drop_held(sup, "exec:" + exec_id, fds)
            os.unlink(path)
            continue
        e = SupervisedExec(sup, c, exec_id, meta)
        e.adopt(c.driver, fds)
        sup.execs[exec_id] = e
        await_exit(sup, e, exits)


def await_exit(sup: "Supervisor", c: Supervised, exits: dict[int, int]) -> None:
    """How an adopted process's end becomes known: reaped already, by the keeper, or by pidfd."""
    if c.pid in exits:
        c.keeper_reaped = True
        c.exited(exits.pop(c.pid))
    elif sup.keeper is not None and sup.keeper.is_keeper_child(c.pid):
        sup.by_pid[c.pid] = c  # the keeper reaps it and tells us its code
    elif proc_start_time(c.pid) is not None:
        c.watch_pidfd()
    else:
        c.exited(255)


def _drop_held(sup: "Supervisor", id: str, fds: dict[str, int] | None) -> None:
    if fds and sup.keeper is not None:
        for fd in fds.values():
            os.close(fd)
        sup.keeper.drop(id)
