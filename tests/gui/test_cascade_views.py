"""The cascading copy's views without an offload: the preset editor's Stage 2 destinations (saved into the
preset the window's offloads are made from; a drive in both lists refused beside the field), the stage-2 line
under Destinations, History's words for each stage, and eject-after never taking RELEASED for safe."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel

from datawrangler.app.offload import OffloadOutcome, Verdict
from datawrangler.app.request import from_preset
from datawrangler.config import Settings, load_presets
from datawrangler.core.events import OffloadResult, OffloadState, VerifyMode
from datawrangler.core.presets import Preset
from datawrangler.gui.cascade import stage2_roots
from datawrangler.gui.catalog_reads import HistoryRow
from datawrangler.gui.eject_after import eject_path, should_eject
from datawrangler.gui.models.history import stage_text
from datawrangler.gui.models.queue import QueueItem, released_text, state_text, status_of
from datawrangler.gui.theme import STYLES, Status
from datawrangler.store.cascade import Stage2Job


def test_stage_2_destinations_are_saved_into_the_preset_and_reach_the_request(
        env: Callable, profile_with: Callable, dest_dirs: Callable) -> None:
    fast, slow, raid = dest_dirs(3)
    e = env(profile_with([fast]))
    s = e.window.settings
    assert s.stage2.count() == 0 and s.stage1.text() == f"Stage 1, from the card: {fast}"
    assert not e.window.dests.stage2.isVisibleTo(e.window)
    s.add_stage2(str(slow))
    s.add_stage2(str(raid))
    assert s.save_btn.isEnabled()
    assert s.save()
    e.wait(lambda: any(m.text == "Settings saved." for m in e.messages.history))
    saved = load_presets()[0]
    assert saved.destinations == (str(fast),) and saved.stage2 == (str(slow), str(raid))
    assert e.controller.preset.stage2 == (str(slow), str(raid))
    req = from_preset("/media/A001R2EC", saved, e.controller.profile.settings)
    assert req.dest_roots == (str(fast),) and req.stage2 == (str(slow), str(raid))
    # beside the destinations: what stage 2 writes once the card is released
    dests = e.window.dests.stage2
    assert dests.isVisibleTo(e.window) and dests.text().endswith(f"{slow}, {raid}")

    # removed again: the preset no longer cascades
    s.stage2.selectionModel().select(s.stage2.model().index(0, 0), QItemSelectionModel.SelectionFlag.Select)
    assert s.stage2_remove.isEnabled()
    s.remove_stage2()
    assert s.stage2_roots() == (str(raid),)
    e.messages.history.clear()
    assert s.save()
    e.wait(lambda: any(m.text == "Settings saved." for m in e.messages.history))
    assert load_presets()[0].stage2 == (str(raid),)


def test_choosing_another_preset_elsewhere_shows_its_stage_2_drives(env: Callable, profile_with: Callable,
                                                                    dest_dirs: Callable) -> None:
    """The header's preset menu switches presets: the form follows, so Save never writes one preset's stage-2
    drives (an empty list) into another."""
    fast, slow = dest_dirs(2)
    base = profile_with([fast])
    staged = Preset("Cascade", destinations=(str(fast),), stage2=(str(slow),))
    e = env(base.with_preset(staged, select=False))
    s = e.window.settings
    assert s.stage2_roots() == ()
    e.controller.apply_profile(e.controller.profile.select("Cascade"), say="")
    assert s.preset.currentText() == "Cascade" and s.stage2_roots() == (str(slow),)
    assert s.save()
    e.wait(lambda: any(m.text == "Settings saved." for m in e.messages.history))
    assert {p.name: p.stage2 for p in load_presets()} == {"Test": (), "Cascade": (str(slow),)}
    # the destinations warning counts the stage-2 drive: 2 drives for 2 copies, nothing to warn about
    assert not e.window.dests.warning.isVisibleTo(e.window)


def test_a_drive_in_both_lists_is_refused_beside_the_field(env: Callable, profile_with: Callable,
                                                            dest_dirs: Callable) -> None:
    fast, slow = dest_dirs(2)
    e = env(profile_with([fast]))
    s = e.window.settings
    s.add_stage2(str(fast) + "/")  # the same folder, spelled with a trailing slash
    err = s.errors["stage2"]
    assert not err.isHidden() and "both a destination and a stage-2 destination" in err.text()
    assert "keep it in one list" in err.text()
    assert not s.save_btn.isEnabled() and not s.save()
    assert load_presets() == [] or load_presets()[0].stage2 == ()
    s.stage2.clear()
    s.add_stage2(str(slow))
    s.add_stage2(str(slow))
    assert "listed twice" in err.text() and not s.save_btn.isEnabled()
    s.stage2.takeItem(1)
    s.validate()
    assert err.isHidden() and s.save_btn.isEnabled()


def _outcome(state: OffloadState, *, safe: bool, released: bool) -> OffloadOutcome:
    result = OffloadResult(state, 2, 2, 0, 0, 0, 10, 0.0, 1.0, VerifyMode.FULL, ("xxh64",), (), (), (), "done")
    return OffloadOutcome(1, result, Verdict(safe, 2 if safe else 1), 1, 2, released=released,
                          stage2=(2,) if released else ())


def test_released_is_its_own_status_and_is_never_ejected() -> None:
    released = _outcome(OffloadState.VERIFIED, safe=False, released=True)
    assert status_of(released) is Status.RELEASED
    assert status_of(_outcome(OffloadState.VERIFIED, safe=True, released=True)) is Status.SAFE
    assert status_of(_outcome(OffloadState.VERIFIED, safe=False, released=False)) is Status.VERIFIED
    styles = {STYLES[s] for s in (Status.SAFE, Status.VERIFIED, Status.FAILED)}
    assert STYLES[Status.RELEASED] not in styles and STYLES[Status.RELEASED].symbol == "eject"
    req = from_preset("/media/A001R2EC", Preset("Test", destinations=("/mnt/FAST",), stage2=("/mnt/SHUTTLE_C",)),
                      Settings())
    item = QueueItem("A001R2EC", req, "/media/A001R2EC", status=Status.RELEASED, outcome=released,
                     stage2_to=("/mnt/SHUTTLE_C", "/mnt/RAID"))
    assert not should_eject(item, True)
    assert state_text(item) == "RELEASED · NOT SAFE YET"
    assert released_text(item.stage2_to) == ("Released: the card may leave the reader. Not safe to format until "
                                              "stage 2 to SHUTTLE_C and RAID is verified.")
    # stage 2 ended safe: the card is ejected; a stage-2 job the window knows no card of ejects nothing
    stage2 = QueueItem("A001 · stage 2", req, "/media/A001R2EC", status=Status.SAFE,
                       outcome=_outcome(OffloadState.VERIFIED, safe=True, released=False), stage=2)
    assert should_eject(stage2, True) and eject_path(stage2) == "/media/A001R2EC"
    stage2.card_path = ""
    assert not should_eject(stage2, True) and eject_path(stage2) == ""


def test_history_words_and_the_stage_2_drives_of_a_job() -> None:
    row = HistoryRow(7, 0.0, 1.0, "verified", "", "A001", "", "/mnt/FAST/day1/A001R2EC", 2, 2, 0, 10, "", 1, "",
                     stage=2, cascade_of=6)
    assert stage_text(row) == "stage 2 of #6"
    assert stage_text(HistoryRow(6, 0.0, 1.0, "verified", "", "A001", "", "/media/A001R2EC", 2, 2, 0, 10, "", 1,
                                 "", released=True)) == "released"
    job = Stage2Job(7, "u-7", 6, 1, "A001", "/mnt/FAST/day1/A001R2EC",
                    ("/mnt/SLOW/day1/A001R2EC", "/Volumes/RAID/day1/A001R2EC"), "queued", 3, "FAST", 2, 10)
    assert stage2_roots(job) == ("/mnt/SLOW", "/Volumes/RAID")



def test_a_stage_2_drive_mounted_under_the_watched_roots_is_not_taken_for_a_card(
        env: Callable, profile_with: Callable, dest_dirs: Callable) -> None:
    fast, slow, card = dest_dirs(3)
    e = env(profile_with([fast], stage2=(str(slow),)))
    c = e.controller
    c.add_source(str(slow), auto=True)  # what the source monitor does for a new volume
    c.add_source(str(card), auto=True)  # the same for a folder that is no destination: a card
    e.wait(lambda: c.cards.rowCount() == 1)
    assert c.cards.row(0).path == str(card)
