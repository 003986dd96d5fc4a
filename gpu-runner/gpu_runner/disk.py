"""A full disk is a run's failure with a reason, not a stack trace from deep inside torch.

Writers report a full disk in different ways: Python raises OSError(ENOSPC); torch's zip writer
raises RuntimeError("... file write failed") and loses the errno; safetensors says "os error 28".
`writing()` turns each of them into DiskFull, whose message starts "no space left on device", and
removes whatever was half written, so nothing partial is left to be registered or loaded.
"""
from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

# Below this much free space after a failed write, the disk is taken to be why it failed.
NEARLY_FULL_BYTES = 1 << 20
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class DiskFull(OSError):
    """The disk (or quota) under a run's work dir is full; the message says what was being written."""

    def __init__(self, message: str):
        super().__init__(errno.ENOSPC, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def free_bytes(path: str) -> Optional[int]:
    """Free space for this user on the filesystem of `path` (or of its nearest existing parent)."""
    path = os.path.abspath(path)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def is_disk_full(exc: BaseException, path: str) -> bool:
    """True when `exc` (or an exception it came from) says the disk is full, or the disk at `path`
    is (nearly) full now: the test for writers that do not pass the errno on."""
    seen = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            return True
        text = str(seen)
        if "No space left on device" in text or "os error 28" in text or "Disk quota exceeded" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    free = free_bytes(path)
    return free is not None and free < NEARLY_FULL_BYTES


@contextmanager
def writing(what: str, path: str, remove_partial: Optional[Callable[[], None]] = None) -> Iterator[None]:
    """Run a write of `what` into `path`. On any failure `remove_partial` runs (after the disk was
    looked at: the partial files are part of why it is full); a full disk becomes DiskFull."""
    try:
        yield
    except Exception as e:
        full = is_disk_full(e, path)
        if remove_partial is not None:
            remove_partial()
        if full:
            cleaned = "; the partial files were removed" if remove_partial is not None else ""
            raise DiskFull(f"no space left on device while writing {what} to {path} "
                           f"({type(e).__name__}: {str(e)[:300]}){cleaned}") from e
        raise
