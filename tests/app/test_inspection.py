"""app.inspection: one decision for auto-offload, the same for `watch --auto` and the window's auto-enqueue,
made from what inspect_card found on the card and in the catalog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
        req, warnings = from_arguments(db, str(other), (), Settings(), preset)
        assert auto_decision(inspect_card(db, str(other), Settings(), preset), AUTO).kind == "flagged"
    finally:
        db.close()
    assert req.reel == "A001" and req.roll == "A001"
    assert [code for code, _ in warnings] == ["reel_collision"]
    assert "Reel A001 was already offloaded" in warnings[0][1]
