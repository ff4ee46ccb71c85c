"""Running one task per service in dependency order, independent services in parallel."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from dockyard.compose.model import Project


def run_in_order(project: Project, names: list[str], task: Callable[[str], None], reverse: bool = False,
                 workers: int = 8) -> None:
    """Call task(name) for each service once its dependencies (or, reversed, its dependents) are done.

    The first failure is raised after the tasks already running have finished; tasks that
    depend on a failed one are not started.
    """
    wanted = set(names)

    def before(name: str) -> list[str]:
        if reverse:
            return [n for n in wanted if name in project.services.get(n, {}).get("depends_on", {})]
        return [d for d in project.services.get(name, {}).get("depends_on", {}) if d in wanted]

    futures: dict[str, Future[None]] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        def schedule(name: str) -> Future[None]:
            if name not in futures:
                deps = [schedule(d) for d in before(name)]

                def job() -> None:
                    for dep in deps:
                        dep.result()  # re-raises a dependency's failure: this one does not start
                    task(name)
                futures[name] = pool.submit(job)
            return futures[name]

        for name in sorted(wanted):
            schedule(name)
        errors = []
        for name in sorted(futures):
            exc = futures[name].exception()
            if exc is not None:
                errors.append(exc)
    if errors:
        raise errors[0]
