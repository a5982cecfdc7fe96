"""app.inspection: one decision for auto-offload, the same for `watch --auto` and the window's auto-enqueue,
made from what inspect_card found on the card and in the catalog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler.app.inspection import Inspection, auto_decision, inspect_card
from datawrangler.app.offload import open_db, run_offload
from datawrangler.app.request import OffloadRequest, from_preset
from datawrangler.config import Settings
from datawrangler.core.presets import Preset
from tests.conftest import CardBuilder

AUTO = Preset("auto", destinations=("/mnt/RAID",), auto_offload=True, copies_required=1)


def _info(**kw: object) -> Inspection:
    base: dict = dict(path="/media/A001R2EC", label="A001R2EC", vendor="ARRI", reel="A001", camera="A", clips=3,
                      files=4, bytes=8_000_000, fingerprint="f")
    base.update(kw)
    return Inspection(**base)


def test_a_new_camera_card_is_offloaded() -> None:
    assert auto_decision(_info(), AUTO).offload


def test_what_the_dit_must_decide_is_never_copied_by_itself() -> None:
    cases = {
        "auto-offload off": (_info(), Preset("manual", destinations=("/mnt/RAID",)), "skipped", "auto-offload off"),
        "not a camera card": (_info(vendor=None), AUTO, "skipped", "not a recognised camera card"),
        "empty": (_info(files=0), AUTO, "skipped", "holds no files"),
        "already safe": (_info(card_id=1, known_exact=True, safe=True), AUTO, "skipped", "safe to format"),
        "reel collision": (_info(collision="Reel A001 was already offloaded on … from a different card."), AUTO,
                           "flagged", "Reel A001 was already offloaded"),
        "bad template": (_info(template_error="Preset 'auto': no {reel}"), AUTO, "refused", "Preset 'auto'"),
    }
    for name, (info, preset, kind, words) in cases.items():
        d = auto_decision(info, preset)
        assert (d.kind, d.offload) == (kind, False), name
        assert words in d.message, (name, d.message)


def test_an_unrecognised_card_is_copied_when_the_preset_takes_any() -> None:
    assert auto_decision(_info(vendor=None), Preset("any", destinations=("/x",), auto_offload=True,
                                                    auto_generic=True)).offload


def test_a_known_card_that_is_not_safe_yet_is_offloaded_again_and_one_that_grew_incrementally(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], tmp_path: Path) -> None:
    card = make_card(name="A001R2EC")
    preset = Preset("p", destinations=tuple(map(str, dest_dirs(1))), template="{card}", auto_offload=True,
                    copies_required=2)  # one test disk: never safe
    catalog = tmp_path / "c.sqlite"
    run_offload(OffloadRequest(str(card), preset.destinations, copies_required=2, report=False), catalog=catalog)
    db = open_db(catalog)
    try:
        info = inspect_card(db, str(card), Settings(), preset)
        assert info.card_id is not None and info.known_exact and not info.safe
        assert auto_decision(info, preset).offload  # the same card, not safe yet: copy it again
        assert not from_preset(info, preset, Settings()).incremental
        (card / "A001R2EC/A001C004_231014_R2EC.mov").write_bytes(b"more footage")  # back in the camera
        grown = inspect_card(db, str(card), Settings(), preset)
    finally:
        db.close()
    assert grown.card_id == info.card_id and not grown.known_exact and grown.new_or_changed == 1
    assert auto_decision(grown, preset).offload and from_preset(grown, preset, Settings()).incremental


def test_by_hand_a_reel_collision_is_said_not_refused(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
                                                      tmp_path: Path) -> None:
    """`datawrangler offload CARD --preset P` of a different card named like one already offloaded: the DIT
    asked for it, so it goes ahead, with the collision said (auto-offload flags it and waits instead)."""
    from datawrangler.app.request import from_arguments

    preset = Preset("p", destinations=tuple(map(str, dest_dirs(1))), template="{reel}", copies_required=1)
    catalog = tmp_path / "c.sqlite"
    first = make_card(name="A001R2EC", root=tmp_path / "one")
    run_offload(OffloadRequest(str(first), preset.destinations, reel="A001", report=False), catalog=catalog)
    other = make_card(name="A001R2EC", files={"A001R2EC/A001C001_231015_R2EC.mov": 777}, root=tmp_path / "two")
    db = open_db(catalog)
    try:
        req = from_arguments(db, str(other), (), Settings(), preset)
        assert auto_decision(inspect_card(db, str(other), Settings(), preset), AUTO).kind == "flagged"
    finally:
        db.close()
    assert req.reel == "A001" and req.roll == "A001"
    assert [code for code, _ in req.notes] == ["reel_collision"]
    assert "Reel A001 was already offloaded" in req.notes[0][1]


def test_a_card_with_an_entry_that_cannot_be_read_is_never_safe_to_format(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Offloaded and verified, then a folder of the card cannot be read: what is in no listing may hold
    footage, so the inspection (the Cards list, auto-offload's decision) does not say safe."""
    import dataclasses

    from datawrangler.app import inspection
    from datawrangler.core.errors import Code
    from datawrangler.core.events import SkippedEntry
    from datawrangler.core.scan import scan_source

    card = make_card(name="A001R2EC")
    preset = Preset("p", destinations=tuple(map(str, dest_dirs(1))), template="{card}", auto_offload=True,
                    copies_required=1)
    catalog = tmp_path / "c.sqlite"
    run_offload(OffloadRequest(str(card), preset.destinations, copies_required=1, report=False), catalog=catalog)
    db = open_db(catalog)
    try:
        assert inspect_card(db, str(card), Settings(), preset).safe
        broken = SkippedEntry("A001R2EC/CLIPS2", Code.UNREADABLE, "Input/output error")
        monkeypatch.setattr(inspection, "scan_source", lambda root, ignore=(): dataclasses.replace(
            scan_source(root, ignore), skipped=[broken]))
        info = inspect_card(db, str(card), Settings(), preset)
    finally:
        db.close()
    assert not info.safe and info.scan_problems == 1
    assert any("1 entry on the card cannot be read (e.g. A001R2EC/CLIPS2)" in r for r in info.reasons), info.reasons
    assert auto_decision(info, preset).offload, "not skipped as 'already safe'"


def test_a_source_with_its_own_ascmhl_history_is_the_same_card_when_inspected_again(
        make_card: CardBuilder, tmp_path: Path) -> None:
    """A shuttle drive's roll carries ascmhl/: inspecting it sees the files the offload copied (the history
    folder is left out by both), so after its offload it is known, exact, and safe."""
    card = make_card(name="A001R2EC")
    shuttle, raid = tmp_path / "shuttle", tmp_path / "raid"
    shuttle.mkdir()
    raid.mkdir()
    catalog = tmp_path / "c.sqlite"
    run_offload(OffloadRequest(str(card), (str(shuttle),), copies_required=1, report=False), catalog=catalog)
    roll = shuttle / "A001R2EC"
    assert (roll / "ascmhl").is_dir()
    preset = Preset("p", destinations=(str(raid),), template="{card}", auto_offload=True, copies_required=1)
    run_offload(OffloadRequest(str(roll), (str(raid),), copies_required=1, report=False), catalog=catalog)
    db = open_db(catalog)
    try:
        info = inspect_card(db, str(roll), Settings(), preset)
    finally:
        db.close()
    assert info.files == 4 and info.card_id is not None and info.known_exact and info.new_or_changed == 0
    assert info.safe and auto_decision(info, preset).kind == "skipped"


def test_a_preset_template_that_cannot_name_the_card_is_refused_with_a_sentence(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`offload --preset` whose template needs what the card's names do not carry: exit 2, not a crash."""
    from datawrangler.cli import main
    from datawrangler.config import save_presets

    card = make_card(name="A001R2EC")
    drive = dest_dirs(1)[0]
    save_presets([Preset("p", destinations=(str(drive),), template="{project}/{card}")])  # no project set
    code = main(["--catalog", str(tmp_path / "c.sqlite"), "offload", str(card), "--preset", "p"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "error: Preset 'p' cannot name this card" in err and "no value for {project}" in err and "--roll" in err
    assert list(drive.iterdir()) == [], "refused before a byte moved"


def test_a_bad_handoff_entry_in_the_settings_is_said_and_the_offload_goes_on(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], tmp_path: Path) -> None:
    from datawrangler.app.offload import Notice, Observer
    from datawrangler.app.request import resume_request

    for bad in ({"checksum_lists": "c4"}, "xxh64", {"checksum_lists": "nope"}):
        settings = Settings(extra={"handoff": bad})
        said: list[Notice] = []
        req = resume_request(1, "", settings)
        assert [c for c, _ in req.notes] == ["handoff"] and "writing the ASC MHL only" in req.notes[0][1], bad
        card = make_card(name="A001R2EC")
        out = run_offload(dataclasses_replace_source(req, card, dest_dirs(1)), catalog=tmp_path / "c.sqlite",
                          observer=Observer(notice=said.append))
        assert out.result.state.value == "verified"
        assert any(n.code == "handoff" and "cannot be used" in n.message for n in said), said


def dataclasses_replace_source(req: OffloadRequest, card: Path, dests: list[Path]) -> OffloadRequest:
    import dataclasses

    return dataclasses.replace(req, source=str(card), dest_roots=tuple(map(str, dests)), resume_id=None,
                               copies_required=1, report=False)


def test_the_resume_of_an_incremental_offload_does_not_read_back_what_the_lineage_holds(
        make_card: CardBuilder, tmp_path: Path) -> None:
    from datawrangler.app.offload import Observer
    from datawrangler.app.request import resume_request
    from datawrangler.core.events import FileResult, OffloadControl

    card = make_card(name="A001R2EC")
    raid = tmp_path / "raid"
    raid.mkdir()
    catalog = tmp_path / "c.sqlite"
    run_offload(OffloadRequest(str(card), (str(raid),), copies_required=1, report=False), catalog=catalog)
    (card / "A001R2EC/A001C004_231014_R2EC.mov").write_bytes(b"shot after the first offload")
    control = OffloadControl()
    control.cancel()  # stopped before its end
    grown = run_offload(OffloadRequest(str(card), (str(raid),), copies_required=1, report=False, incremental=True),
                        control, catalog=catalog)
    files: list[FileResult] = []
    out = run_offload(resume_request(grown.offload_id, "", Settings(copies_required=1)), catalog=catalog,
                      observer=Observer(file=files.append))
    assert out.result.state.value == "verified" and out.safe
    assert [f.rel_path for f in files] == ["A001R2EC/A001C004_231014_R2EC.mov"], "only the new file is copied"
