"""The one way a command prints: `Output.of(args)`, built once per command.

With --json, stdout carries JSON lines only: one object per line, each with "event" (scripts read them).
Without it, a command's results go to stdout, and what it says about the run (progress, notes,
`warning: …`, `error: …`) to stderr. Every write holds one lock: an offload reports from several threads.

    emit(event, **data)          scripts only: a JSON line (with --json; nothing otherwise)
    line(text)                   people only: a result line on stdout (without --json; nothing otherwise)
    info(text)                   people only: a line about the run on stderr
    event(event, text, **data)   both: a result (JSON with "message", or the line on stdout)
    say(event, text, level=, code=, **data)   both: a note, warning or error (JSON, or the line on stderr)
    warning(text, code, **data) / error(code, text, **data)   say() with the level and its stable code
    progress(e) / close()        the progress bar on stderr (not with --json or --quiet)
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import asdict
from typing import Any, TextIO

from datawrangler.app.offload import Notice
from datawrangler.core.events import ProgressEvent
from datawrangler.core.words import human_eta, human_speed, plural

_CLEAR = "\r\x1b[2K"  # back to the start of the terminal line, and erase it
# A JSON line per file is flushed with the next other event, or once this many seconds passed: 30,000 small
# files are not 30,000 writes to the pipe and wake-ups of whoever reads it. Every other event goes out at once.
FILE_LINES_FLUSH = 0.2


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(obj: Any) -> Any:
    if type(obj) in _PLAIN:  # most values: asked first, as a failed hasattr costs an exception inside
        return obj
    if hasattr(obj, "__dataclass_fields__"):
        return {k: jsonable(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [jsonable(v) for v in obj]
    return obj


class Output:
    def __init__(self, *, json: bool = False, quiet: bool = False, out: TextIO | None = None,
                 err: TextIO | None = None) -> None:
        self.json = json
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.context: dict[str, Any] = {}  # fields every JSON line carries from now on (an offload's id)
        self._lock = threading.Lock()
        self._bar = None if json or quiet else ProgressBar(self.err)
        self._flushed = time.monotonic()

    @classmethod
    def of(cls, args: argparse.Namespace) -> Output:
        """The command's Output, made from its --json (and --quiet) once and kept on `args`, so that the
        error handler in `cli.main` speaks through the same one."""
        made = getattr(args, "_output", None)
        if made is None:
            made = cls(json=bool(getattr(args, "json", False)), quiet=bool(getattr(args, "quiet", False)))
            args._output = made
        return made

    @property
    def live(self) -> bool:
        """A progress bar is redrawn on a terminal (lines about single files are worth saying then)."""
        return self._bar is not None and self._bar.tty

    def emit(self, event: str, **data: Any) -> None:
        if self.json:
            payload = {"event": event, **jsonable({**self.context, **data})}
            text = json.dumps(payload, ensure_ascii=False)
            if not text.isascii() and not _is_utf8(text):  # a card name that is not UTF-8 (surrogates):
                text = json.dumps(payload)  # escaped as \udcXX, so every line stays valid UTF-8 JSON
            self._write(self.out, text, at_once=event != "file")

    def line(self, text: str) -> None:
        if not self.json:
            self._write(self.out, text)

    def info(self, text: str) -> None:
        if not self.json:
            self._write(self.err, text)

    def event(self, event: str, text: str, **data: Any) -> None:
        self.emit(event, message=text, **data)
        self.line(text)

    def say(self, event: str, text: str, *, level: str = "info", code: str | None = None, **data: Any) -> None:
        self.emit(event, **({"code": code} if code else {}), message=text, **data)
        self.info(text if level == "info" else f"{level}: {text}")

    def warning(self, text: str, code: str | None = None, **data: Any) -> None:
        self.say("warning", text, level="warning", code=code, **data)

    def error(self, code: str, text: str, **data: Any) -> None:
        self.say("error", text, level="error", code=code, **data)

    def notice(self, n: Notice) -> None:
        """An offload's `Notice` (app.offload's observer): its event, or its words by level."""
        self.say(n.event, n.message, level=n.level, code=n.code, **n.data)

    def progress(self, e: ProgressEvent) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(e)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
            self.out.flush()

    def _write(self, stream: TextIO, text: str, at_once: bool = True) -> None:
        with self._lock:
            bar = self._bar if stream is self.err and self._bar is not None and self._bar.showing else None
            if bar is not None:
                stream.write(_CLEAR)  # the words take the bar's line, and the bar is drawn again below them
            stream.write(text + "\n")
            if bar is not None:
                bar.redraw()
            now = time.monotonic()
            if at_once or now - self._flushed >= FILE_LINES_FLUSH:
                stream.flush()
                self._flushed = now


class ProgressBar:
    """One line on a terminal, redrawn a few times a second (a line every 5 seconds into a file)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.showing = False  # the bar's line is on the terminal, unfinished
        self._line = ""
        self._last = 0.0

    def update(self, e: ProgressEvent) -> None:
        if not self.tty:
            now = time.monotonic()
            if now - self._last < 5 and e.phase != "done":
                return
            self._last = now
        width = 28
        filled = int(e.fraction * width)
        bar = "#" * filled + "-" * (width - filled)
        line = (f"[{bar}] {e.fraction * 100:5.1f}%  {e.files_done}/{plural(e.files_total, 'file')}  "
                f"{human_speed(e.speed)}  ETA {human_eta(e.eta_seconds)}"
                + ("  PAUSED" if e.paused else "") + f"  {e.current_file[-40:]}")
        if self.tty:
            self._line = line
            self.redraw()
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def redraw(self) -> None:
        self.out.write(_CLEAR + self._line)
        self.showing = True

    def close(self) -> None:
        if self.showing:
            self.out.write("\n")
            self.out.flush()
            self.showing = False


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
