"""Error taxonomy with stable codes.

A *known condition* (card removed, disk full, permission denied, a name the destination cannot hold) is
an `OffloadError` with a stable `code` and a message a person can act on. Anything else is a bug.
The codes are stable: the catalog, the JSON events and the reports use them.
"""

from __future__ import annotations

import errno
from enum import StrEnum


class Code(StrEnum):
    # preflight
    SOURCE_MISSING = "source_missing"
    SOURCE_NOT_DIR = "source_not_dir"
    DEST_INSIDE_SOURCE = "dest_inside_source"
    SOURCE_INSIDE_DEST = "source_inside_dest"
    DEST_IS_SOURCE = "dest_is_source"
    DEST_DUPLICATE = "dest_duplicate"
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
    SOURCE_UNSTABLE = "source_unstable"
    SOURCE_GONE = "source_gone"
    DEST_FULL = "dest_full"
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


def dest_code_for(exc: OSError) -> Code:
    """Map an OSError raised while writing or reading a destination to a stable code."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Code.DEST_FULL
    if exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ESTALE, errno.ENOTCONN, errno.EIO):
        return Code.DEST_GONE
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return Code.DEST_PERMISSION
    return Code.DEST_WRITE_ERROR


MESSAGES: dict[Code, str] = {
    Code.DEST_FULL: "The destination drive is full. Free space on it or choose a larger drive, "
    "then resume the offload.",
    Code.DEST_GONE: "The destination drive disappeared or stopped answering (cable pulled, drive "
    "asleep or failing). Reconnect it and resume the offload.",
    Code.DEST_PERMISSION: "The destination cannot be written (read-only or no permission). "
    "Check the drive's write protection and folder permissions.",
    Code.DEST_WRITE_ERROR: "Writing to the destination failed. Check the drive, then resume.",
    Code.SOURCE_READ_ERROR: "The card could not be read at this file even after retries. Try another "
    "card reader; do not format this card.",
    Code.SOURCE_CHANGED: "The file changed on the card while it was being copied. Make sure nothing "
    "else writes to the card (camera still attached?), then offload again.",
    Code.SOURCE_UNSTABLE: "The card reader returned different bytes on two reads of this file. The "
    "reader or the card is unreliable: use another reader and offload again; do not format the card.",
    Code.SOURCE_GONE: "The card disappeared during the offload (removed or reader disconnected). "
    "Re-insert it and resume the offload: what is verified is kept.",
    Code.VERIFY_MISMATCH: "The copy read back from the destination does not match the card. The "
    "drive, cable or port may be faulty: check it and offload this file again.",
    Code.VERIFY_READ_ERROR: "The copy could not be read back from the destination. Check the drive.",
    Code.CONFLICT: "A different file with this name already exists at the destination. Nothing was "
    "overwritten: move or rename it, or choose another destination folder.",
    Code.CANCELLED: "The offload was cancelled before this file was verified.",
}


def message_for(code: Code, detail: str = "") -> str:
    base = MESSAGES.get(code, code.value.replace("_", " ").capitalize() + ".")
    return f"{base} ({detail})" if detail else base
