"""store.holders' catalog reads, once on an SQLite file and once on a PostgreSQL server (`catalog_location`):
who offloads a card or writes into a roll folder right now, from the catalog alone. The offload that runs is
begun by another process (store.session.begin in a child Python process that waits, as an offload in another
window or terminal does); killed, its row still says 'running' but it holds nothing any more."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from datawrangler.cli import main
from datawrangler.core.cards import fingerprint
from datawrangler.core.errors import Code, OffloadError
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import scan_source
from datawrangler.store import holders, session
from datawrangler.store.catalog import Catalog
from datawrangler.store.location import open_location
from datawrangler.store.offloads import OffloadMeta
from tests.conftest import CardBuilder

REPO = Path(__file__).resolve().parents[2]
ROLL = "A001R2EC"
# begins an offload of the card into the destinations, says its id, then runs until its stdin closes
_CHILD = """
import sys
from datawrangler.core.cards import fingerprint
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import scan_source
from datawrangler.store import session
from datawrangler.store.location import open_location
from datawrangler.store.offloads import OffloadMeta

location, card, *dests = sys.argv[1:]
scan = scan_source(card)
db = open_location(location)
begun = session.begin(db, OffloadPlan.create(card, dests), scan, fingerprint(scan), OffloadMeta(reel="A001"))
db.close()
print(begun.record.offload_id, flush=True)
sys.stdin.read()
"""


class Running:
    """An offload begun by a child process, which holds it until `end`."""

    def __init__(self, location: str, card: Path, dests: list[Path]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD, location, str(card), *map(str, dests)],
                                     cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.strip():
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.end()
            raise AssertionError(f"the child process began no offload: {err[-2000:]}")
        self.offload_id = int(line)
        self.pid = self.proc.pid

    def end(self) -> None:
        """Killed, as a crash or `kill -9` ends an offload: its row is left 'running'."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def begin_elsewhere() -> Iterator[Callable[[str, Path, list[Path]], Running]]:
    """begin_elsewhere(location, card, dests): an offload that another process runs now; ended at teardown."""
    started: list[Running] = []

    def begin(location: str, card: Path, dests: list[Path]) -> Running:
        started.append(Running(location, card, dests))
        return started[-1]

    yield begin
    for run in started:
        run.end()


def _started_at(db: Catalog, oid: int) -> float:
    return float(db.value("SELECT started_at FROM offloads WHERE id = ?", (oid,)))


def test_the_catalog_names_who_offloads_a_card_or_writes_a_roll_now(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], catalog_location: str,
        begin_elsewhere: Callable[[str, Path, list[Path]], Running]) -> None:
    card = make_card(name=ROLL)
    d1, d2 = dest_dirs(2)
    other = begin_elsewhere(catalog_location, card, [d1, d2])
    fp = fingerprint(scan_source(card))
    db = open_location(catalog_location)
    try:
        want = holders.Holder(socket.gethostname(), other.pid, "a Python process",
                              _started_at(db, other.offload_id), other.offload_id, str(card),
                              (str(d1 / ROLL), str(d2 / ROLL)))
        assert holders.running_offloads(db, fingerprint=fp) == [want]
        assert holders.running_offloads(db, rolls=[str(d2 / ROLL) + os.sep]) == [want]  # written another way
        assert holders.roll_holders(db, str(d1 / ROLL)) == [want]
        assert holders.running_offloads(db, every=True) == [want]
        assert holders.running_offloads(db, fingerprint="0" * 64, rolls=[str(d1)]) == []  # another card, folder
        assert holders.running_offloads(db, fingerprint=fp, exclude_pid=other.pid) == []
        assert holders.running_offloads(db) == []  # asked about nothing

        refused = OffloadError(Code.DEST_DUPLICATE, f"Another offload is writing to {d1 / ROLL} right now.",
                               path=str(d1 / ROLL))
        named = holders.name_roll_holder(db, refused)
        assert (named.code, named.path) == (Code.DEST_DUPLICATE, str(d1 / ROLL))
        assert named.message == f"{refused.message} It is held by {want.describe()}."
        assert f"offload {other.offload_id} by a Python process (pid {other.pid} on this station, since " \
            in named.message
        assert named.message.endswith(f", from {card} to {d1 / ROLL} and {d2 / ROLL}.")
        full = OffloadError(Code.DEST_FULL, "The drive is full.", path=str(d1 / ROLL))
        assert holders.name_roll_holder(db, full) is full  # only a refused roll folder names its holder
        pathless = OffloadError(Code.DEST_DUPLICATE, "Two destinations are one folder.")
        assert holders.name_roll_holder(db, pathless) is pathless

        other.end()  # killed: its row still says 'running', its process holds nothing
        assert db.value("SELECT state FROM offloads WHERE id = ?", (other.offload_id,)) == "running"
        assert holders.running_offloads(db, fingerprint=fp) == []
        assert holders.roll_holders(db, str(d1 / ROLL)) == []
        assert holders.name_roll_holder(db, refused).message == (
            f"{refused.message} It is held by a process this catalog does not list as offloading (another "
            "catalog, or another program).")
    finally:
        db.close()


def test_every_running_offload_oldest_first_and_never_a_finished_one(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], catalog_location: str,
        begin_elsewhere: Callable[[str, Path, list[Path]], Running]) -> None:
    """This process's own running offload is listed, with its words, but never holds a roll against itself."""
    d1, d2, d3 = dest_dirs(3)
    done = make_card({"C001C001_231014_R4EC.mov": 900}, name="C001R4EC")
    assert main(["offload", str(done), str(d3), "-q", "--no-clips", "--catalog", catalog_location]) == 0
    first = begin_elsewhere(catalog_location, make_card(name=ROLL), [d1])
    card = make_card({"B001C001_231014_R3EC.mov": 700}, name="B001R3EC")
    db = open_location(catalog_location)
    try:
        scan = scan_source(card)
        own = session.begin(db, OffloadPlan.create(card, [d2]), scan, fingerprint(scan), OffloadMeta(reel="B001"))
        listed = holders.running_offloads(db, every=True)
        assert [(h.offload_id, h.pid, h.rolls) for h in listed] == \
            [(first.offload_id, first.pid, (str(d1 / ROLL),)),
             (own.record.offload_id, os.getpid(), (str(d2 / "B001R3EC"),))]
        assert listed[1].process == holders.process_words(psutil.Process().cmdline())
        assert listed[1].since == _started_at(db, own.record.offload_id) >= listed[0].since
        assert holders.roll_holders(db, str(d2 / "B001R3EC")) == []  # its own: not another holder
        assert [h.offload_id for h in holders.running_offloads(db, every=True, exclude_pid=os.getpid())] == \
            [first.offload_id]
        assert holders.roll_holders(db, str(d3 / "C001R4EC")) == []  # verified and ended: nobody holds it
    finally:
        db.close()
