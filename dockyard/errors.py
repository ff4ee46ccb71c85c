"""Domain error kinds shared by every component; the API maps each kind to one HTTP status."""
from __future__ import annotations


class DockyardError(Exception):
    """Base of every error a service raises on purpose. The message is shown to clients as-is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DockyardError):
    """The named object (image, container, layer, ...) does not exist."""


class InvalidParameter(DockyardError):
    """The request is malformed or names something that cannot be."""


class Conflict(DockyardError):
    """The request clashes with the current state (name in use, image in use, ...)."""


class TooLarge(DockyardError):
    """A request body past what its endpoint reads whole (413)."""


class Unauthorized(DockyardError):
    """Credentials are missing or wrong."""


class Forbidden(DockyardError):
    """The operation is not allowed on this object."""


class Unavailable(DockyardError):
    """A dependency the request needs is not running."""


class NotModified(DockyardError):
    """The object is already in the requested state (start a started container, ...)."""


class NotImplementedYet(DockyardError):
    """An Engine API feature Dockyard does not provide yet."""


class SystemFailure(DockyardError):
    """Something failed on the host (kernel, disk, runtime)."""


class RuntimeFailure(SystemFailure):
    """An OCI runtime operation failed (built-in runtime or a runc-compatible CLI)."""


class RuntimeCreateError(RuntimeFailure):
    """The container could not be created; `exit_code` is what Docker reports (127 not found, 126 not executable)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ContainerNotFound(RuntimeFailure):
    """The runtime has no container of that id."""


class ContainerNotRunning(RuntimeFailure):
    """The runtime's container exists but its init has exited."""


class ExecNotFound(InvalidParameter):
    """The container's command does not exist in the image; clients map this to exit code 127."""
