"""The one path for what the user is told: every message, from any part of the window or any worker,
goes through `Messages`. Known conditions (card removed, disk full, permission denied, a catalog that
cannot be used) become a message a person can act on; anything else is a bug, shown in the crash dialog
with the log.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject, Signal

from datawrangler.config import SettingsError
from datawrangler.core.errors import OffloadError
from datawrangler.store.db import CatalogError

log = logging.getLogger("datawrangler.gui")


class Level(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Message:
    level: Level
    text: str
    code: str = ""
    at: float = 0.0


KNOWN = (OffloadError, CatalogError, SettingsError)


def is_known(exc: BaseException) -> bool:
    return isinstance(exc, KNOWN) or (isinstance(exc, OSError) and exc.errno is not None)


def describe(exc: BaseException) -> tuple[str, str]:
    """(text, code) of a known condition."""
    if isinstance(exc, OffloadError):
        return exc.message, exc.code.value
    if isinstance(exc, CatalogError):
        return str(exc), "catalog"
    if isinstance(exc, SettingsError):
        return str(exc), "settings"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}. Check that the drive is connected and writable.", "os_error"
    return str(exc), ""


class Messages(QObject):
    posted = Signal(object)  # Message
    crashed = Signal(str)  # the traceback text of a bug

    def __init__(self, parent: QObject | None = None, keep: int = 500) -> None:
        super().__init__(parent)
        self.history: deque[Message] = deque(maxlen=keep)
        self.bugs: list[str] = []

    def post(self, level: Level, text: str, code: str = "") -> None:
        msg = Message(level, text, code, time.time())
        self.history.append(msg)
        log.log(logging.ERROR if level is Level.ERROR else logging.WARNING if level is Level.WARNING
                else logging.INFO, "%s%s", f"[{code}] " if code else "", text)
        self.posted.emit(msg)

    def info(self, text: str, code: str = "") -> None:
        self.post(Level.INFO, text, code)

    def success(self, text: str, code: str = "") -> None:
        self.post(Level.SUCCESS, text, code)

    def warning(self, text: str, code: str = "") -> None:
        self.post(Level.WARNING, text, code)

    def error(self, text: str, code: str = "") -> None:
        self.post(Level.ERROR, text, code)

    def exception(self, exc: BaseException, context: str = "") -> None:
        """An error from a worker: a message when it is a known condition, the crash dialog when a bug."""
        if is_known(exc):
            text, code = describe(exc)
            self.error(f"{context}: {text}" if context else text, code)
        else:
            self.bug(exc)

    def bug(self, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("bug:\n%s", text)
        self.bugs.append(text)
        self.crashed.emit(text)
