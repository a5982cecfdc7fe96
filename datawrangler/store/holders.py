"""Who is offloading a card, or writing into a roll folder, right now: the words a refused second offload
says, so the DIT knows which window or terminal to look at.

Two instances of DataWrangler (two windows, a window and a command line) on one catalog can reach for one
card at once. One runs; the other is refused before it records anything (store.card_hold, the engine's lock
on each roll folder) and names the holder: its process (the window, 'datawrangler offload', auto-offload),
pid and station, since when, which offload, from where to where. That comes from the holder's own record
(card_hold writes it beside the catalog) or from the catalog's 'running' offloads whose process is alive
(the host, pid and start token each offload row records: store.liveness).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from datawrangler.core.errors import Code, OffloadError
from datawrangler.core.words import when
from datawrangler.store.catalog import Catalog
from datawrangler.store.liveness import alive

__all__ = ["WINDOW", "Holder", "name_roll_holder", "process_words", "roll_holders", "running_offloads"]

WINDOW = "the DataWrangler window"
# the commands that offload: how a refused offload names one (the others never hold a card)
_COMMANDS = {"offload": "'datawrangler offload'", "resume": "'datawrangler resume'"}


def process_words(argv: Sequence[str]) -> str:
    """How a person knows a DataWrangler process by its command line: 'the DataWrangler window' (no command,
    `gui`, `demo`: the window's offload workers are spawned with its argv), "'datawrangler offload'",
    "auto-offload ('datawrangler watch --auto')"; else the program's name."""
    args = list(argv)
    if len(args) > 1 and os.path.basename(args[0]).startswith("python"):  # python -m datawrangler ...
        args = args[2:] if args[1] == "-m" else args[1:]
    name = _program(args[0]) if args else ""
    words = [a for a in args[1:] if not a.startswith("-")]
    if not name or name.startswith("-"):  # python -c ...
        return "a Python process"
    if not name.lower().startswith("datawrangler"):
        return f"'{' '.join([name, *words[:1]])}'"
    command = next((w for w in words if w in (*_COMMANDS, "watch", "gui", "demo")), "")  # --catalog PATH: not one
    if command in ("", "gui", "demo"):
        return WINDOW
    if command == "watch":
        return "auto-offload ('datawrangler watch --auto')"
    return _COMMANDS[command]


def _program(path: str) -> str:
    """'datawrangler' for /usr/bin/datawrangler, DataWrangler.exe or datawrangler/__main__.py (python -m)."""
    path = path.rstrip("/\\")
    base = os.path.basename(path)
    if base == "__main__.py":
        base = os.path.basename(os.path.dirname(path))
    return os.path.splitext(base)[0] if base.lower().endswith(".exe") else base


@dataclass(frozen=True)
class Holder:
    """An offload that runs now, in this station or another one sharing the catalog."""

    host: str
    pid: int  # the process that runs the offload (the window's offload worker, or the command itself)
    process: str  # process_words of the program that started it
    since: float
    offload_id: int | None = None  # None while it has no catalog row yet
    source: str = ""
    rolls: tuple[str, ...] = ()
    main_pid: int | None = None  # the window's own pid, when `pid` is one of its offload workers

    def describe(self) -> str:
        """"offload 12 by 'datawrangler offload' (pid 4242 on station dit-cart, since 2024-05-02 14:02:11), from
        /media/A001 to /mnt/S1/A001R2EC and /mnt/S2/A001R2EC" """
        pids = f"pid {self.main_pid}, offload worker {self.pid}" if self.main_pid else f"pid {self.pid}"
        station = "this station" if self.host == socket.gethostname() else f"station {self.host}"
        head = f"offload {self.offload_id} by " if self.offload_id else ""
        text = f"{head}{self.process} ({pids} on {station}, since {when(self.since, seconds=True)})"
        if self.source:
            text += f", from {self.source}"
        if self.rolls:
            text += " to " + " and ".join(self.rolls)
        return text


def running_offloads(db: Catalog, *, fingerprint: str | None = None, rolls: Iterable[str] = (),
                     exclude_pid: int | None = None, every: bool = False) -> list[Holder]:
    """The catalog's offloads that run now (state 'running', their process alive) of the card with this
    fingerprint or into one of these roll folders (`every`: all of them), oldest first. `exclude_pid`: not
    this process's own."""
    wanted = {os.path.normpath(r) for r in rolls}
    rows = db.run(
        "SELECT o.id, o.host, o.pid, o.start_token, o.started_at, o.source, c.fingerprint FROM offloads o"
        " LEFT JOIN cards c ON c.id = o.card_id WHERE o.state = 'running' ORDER BY o.started_at").fetchall()
    out = []
    for oid, host, pid, token, started, source, fp in rows:
        if pid == exclude_pid and host == socket.gethostname():
            continue
        paths = [p for (p,) in db.run("SELECT path FROM destinations WHERE offload_id = ? ORDER BY idx",
                                               (oid,))]
        hit = every or (fingerprint is not None and fp == fingerprint) or any(os.path.normpath(p) in wanted
                                                                               for p in paths)
        if hit and alive(host, pid, token):
            out.append(Holder(host or "?", pid or 0, _words_of(host, pid), started or 0.0, oid, source or "",
                              tuple(paths)))
    return out


def roll_holders(db: Catalog, roll: str) -> list[Holder]:
    """Who else writes into this roll folder now (the engine refused it: its lock is held)."""
    return running_offloads(db, rolls=[roll], exclude_pid=os.getpid())


def name_roll_holder(db: Catalog, exc: OffloadError) -> OffloadError:
    """The engine's refusal of a roll folder another offload holds (dest_duplicate, with the folder as its
    path), with who holds it, from the catalog: the same refusal, the holder named."""
    if exc.code is not Code.DEST_DUPLICATE or not exc.path:
        return exc
    found = roll_holders(db, exc.path)
    who = (found[0].describe() if found else "a process this catalog does not list as offloading (another "
           "catalog, or another program)")
    return OffloadError(exc.code, f"{exc.message.rstrip()} It is held by {who}.", path=exc.path)


def _words_of(host: str | None, pid: int | None) -> str:
    """process_words of a process of this station, read from the OS (its offload worker's parent when it is
    one); 'a DataWrangler process' where the OS does not say (another station, another user)."""
    if host != socket.gethostname() or not pid:
        return "a DataWrangler process"
    try:
        import psutil

        proc = psutil.Process(pid)
        argv = proc.cmdline()
        parent = proc.parent()
        if "--multiprocessing-fork" in argv and parent is not None:  # the window's offload worker
            argv = parent.cmdline()
    except Exception:  # gone since, or not ours to read: the pid still says which
        return "a DataWrangler process"
    return process_words(argv)
