"""The window ejects a card once it is SAFE TO FORMAT and the preset says eject_after (gui.eject_after): on a
worker, reported through the one message path and on the card's row; never after a failed, cancelled or
not-yet-safe offload, never when the preset says no, never for a plain folder (said once instead).

Real offloads through the window. A recording fake ejector proves when the eject is NOT asked for (with a
positive control that it is, in the same setup); real tmpfs mounts (root) prove that a safe card really gets
unmounted, and that a busy one is left mounted with a message that says what to do."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datawrangler.gui.eject_after import EjectAfter
from datawrangler.gui.messages import Level, Messages
from datawrangler.gui.models.cards import CardRow, EjectMark, status_text
from datawrangler.gui.models.queue import QueueItem
from datawrangler.gui.theme import Status
from datawrangler.platform import EjectResult, Volume
from tests.faultfs import KernelMount, is_mounted, mount_tmpfs
from tests.gui.conftest import Env

CARD = {"A001R2EC/A001C001_231014_R2EC.mov": 2_000_000, "A001R2EC/A001C002_231014_R2EC.mov": 1_000_000,
        "SDINFO.TXT": 120}
ENDED = (Status.SAFE, Status.VERIFIED, Status.FAILED, Status.CANCELLED, Status.INTERRUPTED)


class FakeEjector:
    """Records each eject and the thread it ran on; answers ok or a busy card."""

    def __init__(self, ok: bool = True) -> None:
        self.ok = ok
        self.calls: list[tuple[Volume, str]] = []

    def __call__(self, volume: Volume) -> EjectResult:
        self.calls.append((volume, threading.current_thread().name))
        if self.ok:
            return EjectResult(True, f"{volume.name} was ejected; it can be removed.")
        return EjectResult(False, f"Could not eject {volume.name} (target is busy). Something may still be using "
                           "it: close files open on the card, then eject it from the desktop.")


def fake_volume(path: str) -> Volume:
    return Volume(path, "A001R2EC", "exfat", "/dev/sdz1", None, None, None, True, "8:1")


def attach(e: Env, ejector: Callable[[Volume], EjectResult] | None = None,
           find_volume: Callable[[str], Volume | None] | None = None) -> EjectAfter:
    """The controller's EjectAfter (the one app.make_controller attaches, else a new one), with fakes."""
    c = e.controller
    ea = EjectAfter.of(c) or EjectAfter(c)
    if ejector is not None:
        ea.ejector = ejector
    if find_volume is not None:
        ea.find_volume = find_volume
    return ea


def offload(e: Env, card: Path, timeout: int = 60_000) -> QueueItem:
    """Add the card by hand, offload it, wait for its end and for whatever the end set off (an eject)."""
    c = e.controller
    c.add_source(str(card))
    e.wait(lambda: isinstance(e.card(card), CardRow) and row_of(e, card).status in (Status.NEW, Status.SAFE))
    item = c.enqueue(str(card))
    assert item is not None
    e.wait(lambda: item.status in ENDED, timeout)
    settle(e)
    return item


def row_of(e: Env, card: Path) -> CardRow:
    row = e.card(card)
    assert isinstance(row, CardRow), f"no card row for {card}"
    return row


def settle(e: Env) -> None:
    assert e.bridge.wait_idle(30_000)
    e.qtbot.wait(100)  # type: ignore[attr-defined]  # deliver what the workers handed back


def eject_messages(messages: Messages) -> list:
    return [m for m in messages.history if m.code in ("ejected", "eject_failed", "not_ejected")]


def window_env(env: Callable[..., Env], profile: object) -> Env:
    e = env(profile)
    assert e.window is not None
    e.window.notifier.sound = False
    return e


# -- the fake ejector: when it is asked, and when not


@pytest.mark.parametrize("ok", [True, False], ids=["ejected", "eject_fails"])
def test_a_safe_card_is_ejected_on_a_worker_and_its_row_says_so(env: Callable, profile_with: Callable,
                                                                 make_card: Callable, dest_dirs: Callable,
                                                                 ok: bool) -> None:
    e = window_env(env, profile_with(dest_dirs(1), eject_after=True, copies_required=1))
    fake = FakeEjector(ok)
    found: list[str] = []

    def find(path: str) -> Volume:
        found.append(threading.current_thread().name)
        return fake_volume(path)

    attach(e, fake, find)
    card = make_card(CARD, name="A001R2EC")
    item = offload(e, card)
    assert item.status is Status.SAFE
    e.wait(lambda: len(eject_messages(e.messages)) == 1)
    assert len(fake.calls) == 1
    volume, thread = fake.calls[0]
    assert volume.mount_point == str(card)
    main = threading.main_thread().name
    assert thread != main and found and found[0] != main, "the eject ran on the GUI thread"
    row = row_of(e, card)
    assert row.status is Status.SAFE and row.ejected is ok
    text = e.controller.cards.data(e.controller.cards.index(e.controller.cards.by_path(str(card)), 4))
    [msg] = eject_messages(e.messages)
    if ok:
        assert text == "SAFE TO FORMAT · 1 copy · EJECTED"
        assert (msg.level, msg.text) == (Level.INFO, f"{item.label} ejected: you can remove the card.")
    else:
        assert text == "SAFE TO FORMAT · 1 copy · NOT EJECTED"
        assert msg.level is Level.WARNING and msg.code == "eject_failed"
        assert "close files open on the card, then eject it from the desktop" in msg.text
        assert row.eject is not None and "target is busy" in row.eject.message
    assert not [m for m in e.messages.history if m.level is Level.ERROR]


def test_no_eject_when_the_preset_says_no(env: Callable, profile_with: Callable, make_card: Callable,
                                          dest_dirs: Callable) -> None:
    e = window_env(env, profile_with(dest_dirs(1), eject_after=False, copies_required=1))
    fake = FakeEjector()
    attach(e, fake, fake_volume)
    card = make_card(CARD, name="A001R2EC")
    assert offload(e, card).status is Status.SAFE  # the same setup as above, but eject_after off
    assert fake.calls == [] and eject_messages(e.messages) == []
    assert row_of(e, card).ejected is None


def test_no_eject_when_verified_but_not_yet_safe(env: Callable, profile_with: Callable, make_card: Callable,
                                                 dest_dirs: Callable) -> None:
    # two destination folders on one disk: one copy of the two required
    e = window_env(env, profile_with(dest_dirs(2), eject_after=True, copies_required=2))
    fake = FakeEjector()
    attach(e, fake, fake_volume)
    card = make_card(CARD, name="A001R2EC")
    item = offload(e, card)
    assert item.status is Status.VERIFIED and item.outcome is not None
    assert item.outcome.copies == 1 and not item.outcome.safe
    assert fake.calls == [] and eject_messages(e.messages) == []


def test_no_eject_after_a_failed_offload(env: Callable, profile_with: Callable, make_card: Callable,
                                         dest_dirs: Callable) -> None:
    dest = dest_dirs(1)[0]
    e = window_env(env, profile_with([dest], template="{card}", eject_after=True, copies_required=1))
    fake = FakeEjector()
    attach(e, fake, fake_volume)
    card = make_card(CARD, name="A001R2EC")
    conflict = dest / "A001R2EC" / "SDINFO.TXT"  # a different file already there: a conflict, never overwritten
    conflict.parent.mkdir(parents=True)
    conflict.write_bytes(b"another card's file")
    item = offload(e, card)
    assert item.status is Status.FAILED and item.outcome is not None and item.outcome.result.files_failed >= 1
    assert fake.calls == [] and eject_messages(e.messages) == []


def test_no_eject_after_a_cancelled_offload(env: Callable, profile_with: Callable, make_card: Callable,
                                            dest_dirs: Callable) -> None:
    e = window_env(env, profile_with(dest_dirs(1), eject_after=True, copies_required=1))
    fake = FakeEjector()
    attach(e, fake, fake_volume)
    card = make_card({"A001R2EC/A001C001_231014_R2EC.mov": 60_000_000}, name="A001R2EC")
    c = e.controller
    c.add_source(str(card))
    e.wait(lambda: row_of(e, card).status is Status.NEW)
    item = c.enqueue(str(card))
    assert item is not None
    e.wait(lambda: item.status is Status.PREPARING)
    c.cancel(item.id)  # before the worker process has read a byte
    e.wait(lambda: item.status in ENDED)
    settle(e)
    assert item.status is Status.CANCELLED
    assert fake.calls == [] and eject_messages(e.messages) == []


def test_a_plain_folder_is_not_ejected_and_said_once(env: Callable, profile_with: Callable, make_card: Callable,
                                                     dest_dirs: Callable) -> None:
    # clips off: the card's .mov files are random bytes, whose clips would be said possibly damaged
    e = window_env(env, profile_with(dest_dirs(1), eject_after=True, copies_required=1, clips=False))
    fake = FakeEjector()
    attach(e, fake)  # the real lookup of the volume: a folder in tmp_path is no mount point
    card = make_card(CARD, name="A001R2EC")
    assert offload(e, card).status is Status.SAFE
    again = offload(e, card)  # the same folder offloaded again: safe again, nothing said twice
    assert again.status is Status.SAFE
    assert fake.calls == []
    [msg] = eject_messages(e.messages)
    assert msg.level is Level.INFO and msg.code == "not_ejected" and "not a mounted card" in msg.text
    # (the card and the destination folder share tmp_path's disk: 'same_volume' warns about that, nothing else)
    assert not [m for m in e.messages.history if m.level in (Level.WARNING, Level.ERROR) and m.code != "same_volume"]
    assert row_of(e, card).ejected is None


# -- real mounts (root): the default ejector and volume lookup


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[Path], KernelMount]]:
    if os.geteuid() != 0:
        pytest.skip("needs root: mounts a tmpfs as the card and unmounts it through the window")
    made: list[KernelMount] = []

    def make(where: Path, size: int = 64 << 20) -> KernelMount:
        m = mount_tmpfs(where, size)
        made.append(m)
        return m

    yield make
    for m in reversed(made):
        m.cleanup()


def _mounted_card(tmpfs: Callable[[Path], KernelMount], make_card: Callable, tmp_path: Path) -> Path:
    media = tmp_path / "media"
    mount = tmpfs(media / "A001R2EC")
    card = make_card(CARD, name="A001R2EC", root=media)  # the card's files written onto the tmpfs
    assert card == mount.mountpoint and is_mounted(card)
    return card


@pytest.mark.root
def test_a_safe_card_on_a_real_mount_is_unmounted_through_the_window(
        env: Callable, profile_with: Callable, make_card: Callable, dest_dirs: Callable, tmpfs: Callable,
        tmp_path: Path) -> None:
    shuttle = tmpfs(tmp_path / "SHUTTLE_B").mountpoint  # a second physical drive: two distinct copies
    e = window_env(env, profile_with([dest_dirs(1)[0], shuttle], eject_after=True, copies_required=2))
    attach(e)  # the defaults: platform.volume_at and platform.eject
    card = _mounted_card(tmpfs, make_card, tmp_path)
    item = offload(e, card)
    assert item.status is Status.SAFE and item.outcome is not None and item.outcome.copies == 2
    e.wait(lambda: bool(eject_messages(e.messages)))
    assert [(m.level, m.text) for m in eject_messages(e.messages)] == [
        (Level.INFO, f"{item.label} ejected: you can remove the card.")]
    assert not is_mounted(card), "the card is still mounted"
    assert row_of(e, card).ejected is True


@pytest.mark.root
def test_a_busy_card_stays_mounted_and_the_message_says_what_to_do(
        env: Callable, profile_with: Callable, make_card: Callable, dest_dirs: Callable, tmpfs: Callable,
        tmp_path: Path) -> None:
    e = window_env(env, profile_with(dest_dirs(1), eject_after=True, copies_required=1))
    attach(e)
    card = _mounted_card(tmpfs, make_card, tmp_path)
    with open(card / "SDINFO.TXT", "rb"):  # a viewer still has a file open on the card
        item = offload(e, card)
        assert item.status is Status.SAFE
        e.wait(lambda: bool(eject_messages(e.messages)))
        assert is_mounted(card)
    [msg] = eject_messages(e.messages)
    assert msg.level is Level.WARNING and msg.code == "eject_failed"
    assert "close files open on the card, then eject it from the desktop" in msg.text
    row = row_of(e, card)
    assert row.status is Status.SAFE and row.ejected is False
    assert e.controller.cards.data(e.controller.cards.index(0, 4)).endswith("NOT EJECTED")


# -- wiring and the row


def test_the_app_attaches_one_ejector_to_its_controller(profile_with: Callable, tmp_path: Path) -> None:
    from datawrangler.gui.app import make_controller
    from datawrangler.gui.bridge import Bridge

    bridge = Bridge()
    c = make_controller(bridge, Messages(), profile_with(), str(tmp_path / "catalog.sqlite"))
    try:
        gc.collect()  # kept alive by its Qt parent, not by a Python name
        ea = EjectAfter.of(c)
        assert ea is not None and ea.controller is c
        assert len(c.findChildren(EjectAfter)) == 1
    finally:
        c.shutdown()
        assert bridge.shutdown(30_000)


def test_an_eject_mark_is_shown_only_for_the_offload_it_followed() -> None:
    row = CardRow("/media/dit/A001R2EC", status=Status.SAFE, copies=2, queue_id=7,
                  eject=EjectMark(7, True, "A001R2EC was ejected"))
    assert row.ejected is True and status_text(row) == "SAFE TO FORMAT · 2 copies · EJECTED"
    row.queue_id = 8  # the card, mounted again, is being offloaded again
    assert row.ejected is None and status_text(row) == "SAFE TO FORMAT · 2 copies"
