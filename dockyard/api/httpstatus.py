"""The one table that maps domain error kinds to HTTP status codes."""
from __future__ import annotations

from .. import errors

_STATUS: list[tuple[type[Exception], int]] = [
    (errors.NotModified, 304),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.InvalidParameter, 400),
    (errors.Unauthorized, 401),
    (errors.TooLarge, 413),
    (errors.Forbidden, 403),
    (errors.NotImplementedYet, 501),
    (errors.Unavailable, 503),
    (errors.SystemFailure, 500),
]


def status_for(exc: BaseException) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500
