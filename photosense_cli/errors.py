"""Errors the CLI turns into one line on stderr and an exit code.

Exit codes: 0 success, 1 partial failure (some files failed, or a search found
nothing, like grep), 2 usage or fatal error.
"""


class PhotosenseError(Exception):
    """A failure the user can act on; the message is shown as is."""

    exit_code = 2
    service_code = ""  # the error code a service answered with, when one did


class LibraryDamaged(PhotosenseError):
    """The library file is damaged; the message says what to do."""


# What to do when a library is damaged beyond repair.
RESTORE = ("restore a copy made with 'photosense backup', or import your photos into a new "
           "library (--library NEW); names you wrote to sidecars ('photosense xmp write') come "
           "back with them")


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


class ItemFailed(Exception):
    """One item (a photo, a file, one engine call for it) failed; the run reports it and
    goes on. It was named BadImage, and a rate limit travelled as a bad image.

    permanent: the file itself is the problem (it will fail again until it changes),
    so imports remember it; False for a passing fault of a service (a timeout, a
    throttled call, an S3 copy), which the next run simply tries again.
    """

    service_code = ""  # the error code a service answered with, when one did

    def __init__(self, reason: str, permanent: bool = True):
        reason = one_line(reason)
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent

    def __reduce__(self):  # raised on a Dask worker, it comes back whole (engines/cluster.py)
        return type(self), (self.reason, self.permanent)


MAX_REASON = 300  # a reason is one line of stderr, JSON and status: a library's message is cut


def one_line(text: str) -> str:
    """A reason as one bounded line, whatever a library put in its message."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 3] + "..."


def describe(e: BaseException) -> str:
    """An exception's message as text: LibRaw's errors carry bytes (b'Unsupported file
    format or not RAW file'), which must not reach the user as a Python repr."""
    parts = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in e.args]
    return one_line(": ".join(p for p in parts if p) or type(e).__name__)


def os_reason(e: OSError) -> str:
    """The one wording of a file that cannot be read, for every command."""
    return f"cannot read: {e.strerror or e}"


class BadImage(ItemFailed):
    """The file itself is no image photosense can use (not decodable, truncated...)."""


class TooSmall(BadImage):
    """An image no engine can use (a web thumbnail, an icon): skipped with its reason and
    remembered like a failure, but no failure: a library with thumbnails must not make
    every cron run exit 1."""


class Throttled(ItemFailed):
    """The service refused a call for rate (it is not billed). The importer's Pacer
    slows that operation down and sends the call again; a call throttled past its
    retries fails the photo for this run only."""

    def __init__(self, reason: str):
        super().__init__(reason, permanent=False)
