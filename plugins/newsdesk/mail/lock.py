"""One ``send`` at a time per database file."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from newsdesk.errors import NewsdeskError


class SendLocked(NewsdeskError):
    """Another ``send`` is running on the same database."""


@contextlib.contextmanager
def send_lock(database: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the database while sending.

    Two overlapping runs (a slow send and the next cron job) would otherwise both send
    the pending deliveries. The lock file sits beside the database's real path (symbolic
    links resolved), so every spelling of the path – relative, through a symlink to the
    file or to a folder above it – takes the same lock. The kernel releases the lock when
    the process dies, even by ``kill -9``.
    """
    real = database.resolve()
    path = real.with_name(real.name + ".send-lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SendLocked(
                "another 'newsdesk send' is running on this database; try again when it ends",
                path,
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
