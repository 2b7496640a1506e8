"""Errors the CLI turns into one line on stderr and an exit code.

Exit codes: 0 success, 1 partial failure (some files failed, or a search found
nothing, like grep), 2 usage or fatal error.
"""


class PhotosenseError(Exception):
    """A failure the user can act on; the message is shown as is."""

    exit_code = 2


class LibraryBusy(PhotosenseError):
    """Another import holds the library's lock."""


class EngineError(PhotosenseError):
    """The engine cannot be used: no credentials, not installed, wrong engine."""


class CollectionMissing(EngineError):
    """The engine's face collection is gone though the catalogue holds faces in it."""


class Stopped(Exception):
    """Raised in a worker between engine calls once the run is stopping (Ctrl-C)."""


class NotFound(PhotosenseError):
    """A person, face or photo named on the command line does not exist."""


class Ambiguous(PhotosenseError):
    """A name matches more than one person."""


class Cancelled(PhotosenseError):
    """The user answered no."""

    exit_code = 1


class NothingToUndo(PhotosenseError):
    pass


class BadImage(Exception):
    """One file cannot be analysed; the run reports it and goes on.

    permanent: the file itself is the problem (it will fail again until it changes),
    so imports remember it; False for a passing fault of a service (a timeout, a
    throttled call, an S3 copy), which the next run simply tries again.
    """

    def __init__(self, reason: str, permanent: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def os_reason(e: OSError) -> str:
    """The one wording of a file that cannot be read, for every command."""
    return f"cannot read: {e.strerror or e}"


class Throttled(BadImage):
    """The service refused a call for rate (it is not billed). The importer's Pacer
    slows that operation down and sends the call again; a call throttled past its
    retries fails the photo for this run only."""

    def __init__(self, reason: str):
        super().__init__(reason, permanent=False)
