"""Error taxonomy with stable codes.

A *known condition* (card removed, disk full, permission denied, a name the destination cannot hold) is
an `OffloadError` with a stable `code` and a message a person can act on. Anything else is a bug.
The codes are stable: the catalog, the JSON events and the reports use them.

A destination's OSError says less than the drive does (ENOSPC for bytes and for inodes alike), so the code and
the words of a destination failure also ask the drive (statvfs) what is left on it.
"""

from __future__ import annotations

import errno
import os
from enum import StrEnum

from datawrangler.core.words import human_bytes


class Code(StrEnum):
    # preflight
    SOURCE_MISSING = "source_missing"
    SOURCE_NOT_DIR = "source_not_dir"
    DEST_INSIDE_SOURCE = "dest_inside_source"
    SOURCE_INSIDE_DEST = "source_inside_dest"
    DEST_IS_SOURCE = "dest_is_source"
    DEST_DUPLICATE = "dest_duplicate"
    CARD_BUSY = "card_busy"  # another instance is offloading this card now (store.card_hold)
    DEST_MISSING = "dest_missing"
    DEST_READ_ONLY = "dest_read_only"
    NO_SPACE = "no_space"
    NAME_NOT_ALLOWED = "name_not_allowed"
    NAME_TOO_LONG = "name_too_long"
    PATH_TOO_LONG = "path_too_long"
    NAME_COLLISION = "name_collision"
    SAME_VOLUME = "same_volume"
    UNKNOWN_HASH = "unknown_hash"
    UNKNOWN_VERIFY_MODE = "unknown_verify_mode"
    BAD_ROLL_NAME = "bad_roll_name"
    NO_DESTINATION = "no_destination"
    # per file, while running
    SOURCE_READ_ERROR = "source_read_error"
    SOURCE_CHANGED = "source_changed"
    SOURCE_HISTORY_MISMATCH = "source_history_mismatch"
    STAGE_SOURCE_MISMATCH = "stage_source_mismatch"  # a stage-1 copy no longer matches the card (cascade)
    SOURCE_UNSTABLE = "source_unstable"
    SOURCE_GONE = "source_gone"
    DEST_FULL = "dest_full"
    DEST_NO_INODES = "dest_no_inodes"
    DEST_GONE = "dest_gone"
    DEST_WRITE_ERROR = "dest_write_error"
    DEST_PERMISSION = "dest_permission"
    VERIFY_MISMATCH = "verify_mismatch"
    VERIFY_READ_ERROR = "verify_read_error"
    CONFLICT = "conflict"
    CANCELLED = "cancelled"
    # skipped entries found by the scan
    SYMLINK = "symlink"
    SPECIAL_FILE = "special_file"
    UNREADABLE = "unreadable"
    IGNORED = "ignored"


class OffloadError(Exception):
    """A known condition with a stable code and a message that says what to do."""

    def __init__(self, code: Code, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple:
        # Pickled when an offload runs in a worker process (app.isolated): Exception's default rebuilds
        # from args=(message,) and would lose the code.
        return (self.__class__, (self.code, self.message), {"path": self.path})


# errnos that mean the drive itself went away; EIO is not one of them: a drive that answers with an error is
# still there (a bad area, a failing cable), and a read-back that fails is not a drive that disappeared
DEST_GONE_ERRNOS = frozenset({errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ESTALE, errno.ENOTCONN,
                              errno.ESHUTDOWN, getattr(errno, "ENOMEDIUM", errno.ENODEV)})

#: The codes after which a destination takes no more files: the drive as a whole cannot take them (full,
#: out of inodes, gone, read-only, not writable). The others fail one file and the next is tried.
DRIVE_FATAL = frozenset({Code.DEST_FULL, Code.DEST_NO_INODES, Code.DEST_GONE, Code.DEST_PERMISSION,
                         Code.DEST_READ_ONLY})


def dest_code_for(exc: OSError, location: str | None = None) -> Code:
    """Map an OSError raised while writing or reading a destination to a stable code.

    ENOSPC says "no space" for bytes and for inodes alike: the drive's statvfs tells which (the folder the
    error names, else `location`, the destination's folder), so a drive whose file table is full is not
    called full while gigabytes are free. EROFS is a drive that became read-only (preflight refuses one
    that is read-only from the start), not a permission problem. EIO is a drive that answered with an
    error, not one that disappeared: the caller says whether it was a write or a read-back."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Code.DEST_NO_INODES if out_of_inodes(exc.filename or location) else Code.DEST_FULL
    if exc.errno == errno.EROFS:
        return Code.DEST_READ_ONLY
    if exc.errno in DEST_GONE_ERRNOS:
        return Code.DEST_GONE
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Code.DEST_PERMISSION
    return Code.DEST_WRITE_ERROR


def drive_space(path: object) -> os.statvfs_result | None:
    """statvfs of the nearest existing folder at or above `path` (a temp file that was never created, a
    folder not made yet), or None when there is no path or the drive does not answer."""
    if not isinstance(path, str | bytes | os.PathLike) or not os.fspath(path):  # None, or a descriptor number
        return None
    here = os.path.abspath(os.fsdecode(path))
    while not os.path.isdir(here):
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent
    try:
        return os.statvfs(here)
    except OSError:
        return None


def out_of_inodes(path: object) -> bool:
    """The drive of `path` has bytes free but no free inodes (entries in its file table). False where the
    filesystem does not count inodes (f_files 0: FAT, exFAT, btrfs) or does not answer."""
    st = drive_space(path)
    return st is not None and st.f_files > 0 and st.f_favail == 0 and st.f_bavail > 0


MESSAGES: dict[Code, str] = {
    Code.DEST_FULL: "The destination drive is full. Free space on it or choose a larger drive, "
    "then resume the offload.",
    Code.DEST_NO_INODES: "The destination drive has no room for more files: its file table is full (every "
    "inode is used, usually by very many small files), though it still has free space. Delete files you "
    "no longer need from it or choose another drive, then resume the offload.",
    Code.DEST_READ_ONLY: "The destination drive became read-only during the offload: the system does this "
    "after a drive error, or it was remounted read-only. Nothing more can be written to it. Eject it, "
    "check it (a disk check, its cable), make it writable again, then resume the offload: what was "
    "verified on it is kept.",
    Code.DEST_GONE: "The destination drive disappeared or stopped answering (cable pulled, drive "
    "asleep or failing). Reconnect it and resume the offload.",
    Code.DEST_PERMISSION: "The destination folder cannot be written (no permission). Check the folder's "
    "permissions and owner and the drive's write protection, then resume the offload.",
    Code.DEST_WRITE_ERROR: "Writing to the destination failed: the drive answered with an error. Check "
    "the drive and its cable, then resume the offload.",
    Code.SOURCE_READ_ERROR: "The card could not be read at this file even after retries. Try another "
    "card reader; do not format this card.",
    Code.SOURCE_CHANGED: "The file changed on the card while it was being copied. Make sure nothing "
    "else writes to the card (camera still attached?), then offload again.",
    Code.SOURCE_HISTORY_MISMATCH: "The card's file no longer matches the card's own ASC MHL history: it changed "
    "since the history was written. Do not format the card; try another reader, and find the copies made when "
    "the history was written.",
    Code.STAGE_SOURCE_MISMATCH: "The stage-1 copy no longer matches the hashes taken from the card: it was not "
    "copied on (never a copy of a copy that differs from the card). Copy this file again from the card, and check "
    "the stage-1 drive.",
    Code.SOURCE_UNSTABLE: "The card reader returned different bytes on two reads of this file. The "
    "reader or the card is unreliable: use another reader and offload again; do not format the card.",
    Code.SOURCE_GONE: "The card disappeared during the offload (removed or reader disconnected). "
    "Re-insert it and resume the offload: what is verified is kept.",
    Code.VERIFY_MISMATCH: "The copy read back from the destination does not match the card. The "
    "drive, cable or port may be faulty: check it and offload this file again.",
    Code.VERIFY_READ_ERROR: "The copy was written but could not be read back from the destination drive "
    "(a read error), so it is not verified and no ASC MHL lists it. The drive may have a bad area or a "
    "loose cable: check it, then resume the offload to copy this file again, or use another drive.",
    Code.CONFLICT: "A different file with this name already exists at the destination. Nothing was "
    "overwritten: move or rename it, or choose another destination folder.",
    Code.CANCELLED: "The offload was cancelled before this file was verified.",
}


def message_for(code: Code, detail: str = "") -> str:
    base = MESSAGES.get(code, code.value.replace("_", " ").capitalize() + ".")
    return f"{base} ({detail})" if detail else base


def dest_message(code: Code, exc: OSError | None = None, location: str | None = None) -> str:
    """The message for a destination failure, with what the drive says now: how much room is left on a
    drive that is full or out of inodes (statvfs of the folder the error names, else `location`), and the
    error's words (strerror) otherwise."""
    detail = (exc.strerror or "") if exc is not None else ""
    if code in (Code.DEST_FULL, Code.DEST_NO_INODES):
        st = drive_space((exc.filename if exc is not None else None) or location)
        if st is not None:
            free = human_bytes(st.f_bavail * (st.f_frsize or st.f_bsize))
            if code is Code.DEST_NO_INODES:
                return (f"The destination drive has no room for more files (its file table is full, though "
                        f"{free} are free). Delete files you no longer need from it (very many small files "
                        "use up the table) or choose another drive, then resume the offload.")
            detail = f"{free} free"
    return message_for(code, detail)
