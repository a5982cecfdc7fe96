"""The cascading copy through the window (gui.cascade): a card copied to a fast stage-1 drive is RELEASED once
that copy is verified (its own status, not SAFE TO FORMAT), its stage-2 copy runs as a job of the queue from
the stage-1 copy to a second drive, and only that job's end makes the card SAFE TO FORMAT; the next card's
stage 1 runs while a stage 2 runs; eject-after waits for SAFE TO FORMAT; stage-2 jobs left queued, cancelled by
a quit or interrupted by a crash are in the queue at the next start.

Real offloads in worker processes, the real catalog, two tmpfs drives (distinct physical drives: the copies
count twice). A stage-2 job is held by pausing it the moment it starts (a slow drive, deterministically)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datawrangler.app.isolated import run_offload_isolated
from datawrangler.app.offload import Observer
from datawrangler.app.request import from_preset, resume_request
from datawrangler.core.events import OffloadControl
from datawrangler.gui.dialogs import ConfirmQuit
from datawrangler.gui.eject_after import EjectAfter
from datawrangler.gui.messages import Level
from datawrangler.gui.models.cards import CardRow, status_text
from datawrangler.gui.models.queue import QueueItem, state_text
from datawrangler.gui.theme import Status
from datawrangler.platform import EjectResult, Volume
from tests.faultfs import KernelMount, mount_tmpfs
from tests.gui.conftest import Env

pytestmark = pytest.mark.root

CARD = {"A001R2EC/A001C001_231014_R2EC.mov": 3_000_000, "A001R2EC/A001C002_231014_R2EC.mov": 1_000_000,
        "SDINFO.TXT": 120}
CARD2 = {"A002R2EC/A002C001_231014_R2EC.mov": 2_000_000, "SDINFO.TXT": 140}
ENDED = (Status.SAFE, Status.RELEASED, Status.VERIFIED, Status.FAILED, Status.CANCELLED, Status.INTERRUPTED)


@pytest.fixture
def drives(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """drives("FAST") -> a tmpfs mounted at tmp_path/FAST: a physical drive of its own."""
    if os.geteuid() != 0:
        pytest.skip("needs root: mounts two tmpfs drives so that stage 1 and stage 2 are distinct drives")
    made: list[KernelMount] = []

    def make(name: str) -> Path:
        m = mount_tmpfs(tmp_path / name, 64 << 20)
        made.append(m)
        return m.mountpoint

    yield make
    for m in reversed(made):
        m.cleanup()


class FakeEjector:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, volume: Volume) -> EjectResult:
        self.calls.append(volume.mount_point)
        return EjectResult(True, f"{volume.name} was ejected; it can be removed.")


def fake_volume(path: str) -> Volume:
    return Volume(path, os.path.basename(path), "exfat", "/dev/sdz1", None, None, None, True, "8:1")


def cascade_env(env: Callable[..., Env], profile_with: Callable, fast: Path, slow: Path, **preset: object) -> Env:
    e = env(profile_with([fast], stage2=(str(slow),), copies_required=2, clips=False, **preset))
    assert e.window is not None
    e.window.notifier.sound = False
    return e


def card_row(e: Env, card: Path) -> CardRow:
    row = e.card(card)
    assert isinstance(row, CardRow), f"no card row for {card}"
    return row


def card_text(e: Env, card: Path) -> str:
    c = e.controller
    return str(c.cards.data(c.cards.index(c.cards.by_path(str(card)), 4)))


def add_card(e: Env, card: Path) -> None:
    e.controller.add_source(str(card))
    e.wait(lambda: isinstance(e.card(card), CardRow) and card_row(e, card).status is Status.NEW, 20_000)


def settle(e: Env, held: bool = False) -> None:
    """Let what the workers handed back arrive; with a stage-2 job held (its task never idles) only wait."""
    if not held:
        assert e.bridge.wait_idle(30_000)
    e.qtbot.wait(300)  # type: ignore[attr-defined]


def stage2_items(e: Env) -> list[QueueItem]:
    return [q for q in e.controller.queue.rows if q.stage == 2]


def hold_stage2(e: Env, wanted: Callable[[QueueItem], bool] = lambda q: q.stage == 2) -> list[QueueItem]:
    """Pause every stage-2 job (or what `wanted` accepts) the moment it starts (before its worker process
    reads a byte): a slow drive that waits for the test. Returns the jobs held so far."""
    c = e.controller
    held: list[QueueItem] = []

    def changed(top: object, bottom: object, *_: object) -> None:
        for r in range(top.row(), bottom.row() + 1):  # type: ignore[attr-defined]
            item = c.queue.row(r)
            if wanted(item) and item.status is Status.PREPARING and item not in held:
                held.append(item)
                c.pause(item.id)

    c.queue.dataChanged.connect(changed)
    return held


def statuses(e: Env, card: Path) -> list[str]:
    """Every text the card's status cell showed, in order (recorded as the model changes)."""
    c = e.controller
    seen: list[str] = []

    def record(*_: object) -> None:
        i = c.cards.by_path(str(card))
        if i >= 0:
            text = str(c.cards.data(c.cards.index(i, 4)))
            if not seen or seen[-1] != text:
                seen.append(text)

    c.cards.dataChanged.connect(record)
    return seen


def released_words(slow: Path) -> str:
    return (f"Released: the card may leave the reader. Not safe to format until stage 2 to {slow.name} is "
            "verified.")


def test_released_then_safe_to_format_and_the_eject_waits_for_safe(
        env: Callable, profile_with: Callable, make_card: Callable, drives: Callable) -> None:
    fast, slow = drives("FAST"), drives("SLOW")
    e = cascade_env(env, profile_with, fast, slow, eject_after=True)
    c = e.controller
    ejector = FakeEjector()
    ea = EjectAfter.of(c)
    assert ea is not None
    ea.ejector, ea.find_volume = ejector, fake_volume
    held = hold_stage2(e)
    card = make_card(CARD, name="A001R2EC")
    add_card(e, card)
    seen = statuses(e, card)

    stage1 = c.enqueue(str(card))
    assert stage1 is not None and stage1.stage2_to == (str(slow),)
    e.wait(lambda: stage1.status in ENDED)
    e.wait(lambda: len(held) == 1)  # its stage 2, queued from the outcome, started and was held
    settle(e, held=True)
    assert stage1.status is Status.RELEASED, (stage1.status, stage1.error)
    assert stage1.outcome is not None and stage1.outcome.released and not stage1.outcome.safe
    assert state_text(stage1) == "RELEASED · NOT SAFE YET"
    row = card_row(e, card)
    assert row.status is Status.RELEASED and row.detail == released_words(slow)
    assert e.window is not None
    banner = e.window.cards.released  # the words in view under the cards, not only in a tooltip
    assert banner.isVisibleTo(e.window) and banner.text() == f"⏏ {row.label}: {released_words(slow)}"
    assert card_text(e, card).startswith("RELEASED · ")
    assert "SAFE TO FORMAT" not in card_text(e, card)
    assert ejector.calls == [], "the card was ejected while only RELEASED"
    [job] = held
    assert job.stage == 2 and job.cascade_of == stage1.offload_id and job.offload_id in stage1.outcome.stage2
    assert job.card_path == str(card) and job.targets == (str(slow),)
    assert job.running and job.status is Status.PAUSED
    assert job.request.resume_id == job.offload_id and job.label == f"{stage1.label} · stage 2"
    # the notifier and the messages never call RELEASED a failure or SAFE
    assert e.window is not None
    assert e.window.notifier.sent[-1][0].endswith("RELEASED, not safe to format yet")
    assert e.window.notifier.sent[-1][2] is False
    assert not [m for m in e.messages.history if m.level is Level.SUCCESS]

    c.resume(job.id)
    e.wait(lambda: job.status in ENDED)
    settle(e)
    assert job.status is Status.SAFE, (job.status, job.error, job.outcome and job.outcome.result.message)
    assert job.outcome is not None and job.outcome.safe and job.outcome.copies == 2
    assert job.outcome.stage == 2 and job.outcome.cascade_of == stage1.offload_id
    row = card_row(e, card)
    assert row.status is Status.SAFE and row.copies == 2
    assert not e.window.cards.released.isVisibleTo(e.window)
    assert stage1.status is Status.RELEASED and state_text(stage1) == "RELEASED · STAGE 2 SAFE"
    e.wait(lambda: bool(ejector.calls))
    assert ejector.calls == [str(card)], "eject once, the card (never the stage-1 roll stage 2 read)"
    assert card_text(e, card) == "SAFE TO FORMAT · 2 copies · EJECTED"
    released_at = next(i for i, t in enumerate(seen) if t.startswith("RELEASED"))
    safe_at = next(i for i, t in enumerate(seen) if t.startswith("SAFE TO FORMAT"))
    assert released_at < safe_at and not any(t.startswith("SAFE") for t in seen[:released_at])
    # the stage-2 copy is on the slow drive, byte for byte the card's
    [roll] = [p for p in slow.rglob("A001C001_231014_R2EC.mov")]
    assert roll.read_bytes() == (card / "A001R2EC/A001C001_231014_R2EC.mov").read_bytes()

    # History says which offload is stage 2 of which
    h = e.window.history
    h.apply()
    e.wait(lambda: h.model.rowCount() == 2)
    states = {h.model.row(i).id: h.model.data(h.model.index(i, 4)) for i in range(2)}
    assert states[job.offload_id] == f"VERIFIED · STAGE 2 OF #{stage1.offload_id}"
    assert states[stage1.offload_id] == "VERIFIED · RELEASED"


def test_the_next_card_starts_while_stage_2_runs(env: Callable, profile_with: Callable, make_card: Callable,
                                                  drives: Callable) -> None:
    fast, slow = drives("FAST"), drives("SLOW")
    e = cascade_env(env, profile_with, fast, slow)
    c = e.controller
    held = hold_stage2(e)
    card1, card2 = make_card(CARD, name="A001R2EC"), make_card(CARD2, name="A002R2EC")
    add_card(e, card1)
    add_card(e, card2)
    first = c.enqueue(str(card1))
    assert first is not None
    e.wait(lambda: first.status in ENDED and len(held) == 1)
    [job1] = held
    assert first.status is Status.RELEASED and job1.running

    # the released card leaves the reader: its row stays, RELEASED, until stage 2 says safe
    c.source_removed(str(card1))
    assert card_row(e, card1).status is Status.RELEASED and not card_row(e, card1).present
    assert card_text(e, card1).endswith("· CARD OUT")

    # the next card writes the drive stage 2 reads from: it starts at once, stage 2 still running
    second = c.enqueue(str(card2))
    assert second is not None
    e.wait(lambda: second.status is not Status.QUEUED or bool(second.waiting_for))
    assert second.waiting_for == "", f"the next card waits for {second.waiting_for}"
    e.wait(lambda: second.status in ENDED)
    assert job1.running, "stage 2 of the first card ended before the test let it"
    assert second.status is Status.RELEASED
    # its own stage 2 writes the same slow drive: it waits for the first one's
    e.wait(lambda: len(stage2_items(e)) == 2)
    job2 = next(q for q in stage2_items(e) if q is not job1)
    e.wait(lambda: job2.waiting_for != "")
    assert job2.status is Status.QUEUED and job2.waiting_for == job1.label

    c.resume(job1.id)
    e.wait(lambda: job1.status in ENDED and len(held) == 2)
    c.resume(job2.id)
    e.wait(lambda: job2.status in ENDED)
    settle(e)
    assert (job1.status, job2.status) == (Status.SAFE, Status.SAFE)
    assert card_row(e, card1).status is Status.SAFE and card_text(e, card1) == "SAFE TO FORMAT · 2 copies · CARD OUT"
    assert card_row(e, card2).status is Status.SAFE


def test_a_quit_during_stage_2_asks_and_each_stage_2_is_back_at_the_next_start(
        env: Callable, profile_with: Callable, make_card: Callable, drives: Callable,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Quitting while a stage 2 runs asks, as during any offload, and says the stage-2 copy still waiting;
    at the next start the cancelled one waits for Resume and the one that never started starts by itself."""
    fast, slow = drives("FAST"), drives("SLOW")
    e = cascade_env(env, profile_with, fast, slow)
    c = e.controller
    held = hold_stage2(e)
    card1, card2 = make_card(CARD, name="A001R2EC"), make_card(CARD2, name="A002R2EC")
    add_card(e, card1)
    add_card(e, card2)
    first = c.enqueue(str(card1))
    assert first is not None
    e.wait(lambda: first.status in ENDED and len(held) == 1)
    [job1] = held
    second = c.enqueue(str(card2))
    assert second is not None
    e.wait(lambda: second.status in ENDED and len(stage2_items(e)) == 2)
    job2 = next(q for q in stage2_items(e) if q is not job1)
    e.wait(lambda: job2.waiting_for != "")  # the slow drive is job1's: job2 never starts before the quit
    assert e.window is not None
    e.window._quitting = False
    asked: list[tuple[int, dict]] = []

    def ask(cls: object, parent: object, running: int, **waiting: int) -> tuple[bool, bool]:
        asked.append((running, waiting))
        return (len(asked) > 1, len(asked) > 1)  # "Keep running" first, then quit

    monkeypatch.setattr(ConfirmQuit, "ask", classmethod(ask))
    e.window.close()
    assert asked == [(1, {"waiting": 1})] and e.window.isVisible(), "the window closed while stage 2 ran"
    e.window.close()
    assert not e.window.isVisible() and len(asked) == 2
    e.wait(lambda: job1.status is Status.CANCELLED, 30_000)
    e.close()

    again = cascade_env(env, profile_with, fast, slow)
    c2 = again.controller
    c2.load_resumable()
    again.wait(lambda: len(stage2_items(again)) == 2)
    stopped = next(q for q in stage2_items(again) if q.offload_id == job1.offload_id)
    waited = next(q for q in stage2_items(again) if q.offload_id == job2.offload_id)
    assert stopped.cascade_of == first.offload_id and stopped.status is Status.CANCELLED
    assert stopped.label == "A001 · stage 2" and stopped.card_path == ""  # a new session knows no card yet
    assert len({q.offload_id for q in c2.queue.rows}) == len(c2.queue.rows), "an offload listed twice"
    again.wait(lambda: waited.status in ENDED)  # queued in the catalog: it started by itself
    assert waited.status is Status.SAFE and stopped.status is Status.CANCELLED
    new = c2.retry(stopped.id)  # what Resume does
    assert new is not None and new.stage == 2
    again.wait(lambda: new.status in ENDED)
    assert new.status is Status.SAFE and new.outcome is not None and new.outcome.copies == 2


def test_at_start_a_queued_stage_2_starts_and_an_interrupted_one_waits_for_resume(
        env: Callable, profile_with: Callable, make_card: Callable, drives: Callable, tmp_path: Path) -> None:
    fast, slow = drives("FAST"), drives("SLOW")
    catalog = tmp_path / "catalog.sqlite"
    profile = profile_with([fast], stage2=(str(slow),), copies_required=2, clips=False)
    # stage 1 of two cards without the window (the command line, or a window that quit at once): two
    # stage-2 copies queued in the catalog
    outcomes, cards = [], []
    for files, name in ((CARD, "A001R2EC"), (CARD2, "A002R2EC")):
        cards.append(make_card(files, name=name))
        req = from_preset(str(cards[-1]), profile.preset, profile.settings)
        outcomes.append(run_offload_isolated(req, catalog=catalog))
    assert all(o.released and len(o.stage2) == 1 for o in outcomes)
    queued, crashed = outcomes[0].stage2[0], outcomes[1].stage2[0]
    # the second one's stage 2 is running when its process dies (SIGKILL, paused so it cannot finish first)
    control = OffloadControl()
    control.pause()
    started = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_offload_isolated(resume_request(crashed, "", profile.settings, profile.preset), control,
                                 catalog=catalog, observer=Observer(started=lambda _s: started.set()))
        except BaseException as exc:  # the process is killed: its error is expected
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    assert started.wait(60)
    import multiprocessing

    [proc] = multiprocessing.active_children()
    os.kill(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
    t.join(60)
    assert errors and "ended unexpectedly" in str(errors[0])

    e = env(profile)
    e.window.notifier.sound = False
    c = e.controller
    held = hold_stage2(e)
    c.load_resumable()
    e.wait(lambda: len(stage2_items(e)) == 2)
    first = next(q for q in stage2_items(e) if q.offload_id == queued)
    second = next(q for q in stage2_items(e) if q.offload_id == crashed)
    assert second.status is Status.INTERRUPTED and state_text(second) == "INTERRUPTED · RESUMABLE"
    e.wait(lambda: held == [first])  # the queued one started by itself (held as it started)
    # its card, inserted again, is RELEASED (not merely offloaded) and follows that stage 2 to its end
    c.add_source(str(cards[0]))
    e.wait(lambda: isinstance(e.card(cards[0]), CardRow) and card_row(e, cards[0]).status is Status.RELEASED)
    assert card_row(e, cards[0]).detail == released_words(slow) and first.card_path == str(cards[0])
    c.resume(first.id)
    e.wait(lambda: first.status in ENDED)
    e.wait(lambda: card_row(e, cards[0]).status is not Status.RELEASED)
    assert card_row(e, cards[0]).status is Status.SAFE
    assert first.status is Status.SAFE and first.outcome is not None and first.outcome.copies == 2
    assert second.status is Status.INTERRUPTED, "an interrupted stage 2 waits for Resume"
    assert any(m.code == "resumable" for m in e.messages.history)
    assert any(m.code == "stage2_queued" for m in e.messages.history)
    new = c.retry(second.id)
    assert new is not None
    e.wait(lambda: new in held)  # held as it starts, like every stage 2 here
    c.resume(new.id)
    e.wait(lambda: new.status in ENDED)
    assert new.status is Status.SAFE, (new.status, new.error)


def test_a_stage_1_resumed_after_a_quit_releases_the_card_and_queues_its_stage_2(
        env: Callable, profile_with: Callable, make_card: Callable, drives: Callable) -> None:
    fast, slow = drives("FAST"), drives("SLOW")
    e = cascade_env(env, profile_with, fast, slow)
    held = hold_stage2(e, lambda q: q.stage == 1)
    card = make_card(CARD, name="A001R2EC")
    add_card(e, card)
    stage1 = e.controller.enqueue(str(card))
    assert stage1 is not None
    e.wait(lambda: held == [stage1] and stage1.offload_id is not None)
    e.close()  # quit during stage 1: cancelled, resumable

    again = cascade_env(env, profile_with, fast, slow)
    c = again.controller
    c.load_resumable()
    again.wait(lambda: c.queue.rowCount() == 1)
    old = c.queue.row(0)
    assert old.stage == 1 and old.status is Status.CANCELLED and old.stage2_to == ()
    c.add_source(str(card))
    again.wait(lambda: isinstance(again.card(card), CardRow) and card_row(again, card).status is Status.KNOWN)
    new = c.retry(old.id)  # Resume: the request comes from the catalog, which has the stage-2 drives
    assert new is not None
    again.wait(lambda: new.status in ENDED)
    assert new.status is Status.RELEASED and new.outcome is not None and len(new.outcome.stage2) == 1
    again.wait(lambda: new.stage2_to == (str(slow),))  # learnt from the stage-2 job it queued
    again.wait(lambda: card_row(again, card).detail == released_words(slow))
    again.wait(lambda: any(q.stage == 2 and q.status is Status.SAFE for q in c.queue.rows))
    again.wait(lambda: card_row(again, card).status is Status.SAFE)


def test_a_released_card_row_and_its_words() -> None:
    row = CardRow("/media/A001R2EC", status=Status.RELEASED, copies=1)
    assert status_text(row) == "RELEASED · NOT SAFE YET"
    row.progress = 0.42
    assert status_text(row) == "RELEASED · STAGE 2 42%"
    row.present = False
    assert status_text(row).endswith("· CARD OUT")


def test_a_stage_1_copy_that_no_longer_matches_the_card_fails_stage_2_and_the_card_is_not_safe(
        env: Callable, profile_with: Callable, make_card: Callable, drives: Callable) -> None:
    fast, slow = drives("FAST"), drives("SLOW")
    e = cascade_env(env, profile_with, fast, slow)
    c = e.controller
    held = hold_stage2(e)
    card = make_card(CARD, name="A001R2EC")
    add_card(e, card)
    stage1 = c.enqueue(str(card))
    assert stage1 is not None
    e.wait(lambda: stage1.status in ENDED and len(held) == 1)
    [job] = held
    # while stage 2 waits, the stage-1 copy of one clip changes on its drive (a bad sector, a stray write)
    [copy] = list(fast.rglob("A001C002_231014_R2EC.mov"))
    st = copy.stat()
    data = bytearray(copy.read_bytes())
    data[1000] ^= 0xFF
    copy.write_bytes(bytes(data))
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and time: only its bytes tell
    c.resume(job.id)
    e.wait(lambda: job.status in ENDED)
    settle(e)
    assert job.status is Status.FAILED and job.outcome is not None and not job.outcome.safe
    assert any(f.code is not None and f.code.value == "stage_source_mismatch" for f in job.outcome.result.failures)
    row = card_row(e, card)
    assert row.status is Status.FAILED and row.detail.startswith("Stage 2 to SLOW failed: ")
    assert row.detail.endswith("The card is NOT safe to format: the stage-1 copy no longer matches the card: copy "
                               "the card again (do not format it).")
    assert card_text(e, card).startswith("FAILED")
    assert state_text(stage1) == "RELEASED · STAGE 2 FAILED"
    assert any(m.level is Level.ERROR and m.code == "stage_source_mismatch" for m in e.messages.history)
    assert not list(slow.rglob("A001C002_231014_R2EC.mov")), "a copy of a copy that differs from the card"
