"""A card that carries a hostile or broken ASC MHL history of its own (handoff.source, before an offload):
the history is never used, the card's files are offloaded and verified as usual, the reason is said, and
nothing is read or written outside the card and the destination roll."""

from __future__ import annotations

from pathlib import Path

import pytest

from datawrangler.core.events import FileResult, FileStatus
from datawrangler.core.plan import OffloadPlan
from datawrangler.handoff.ascmhl import c4_of
from datawrangler.handoff.history import ChainLink, load
from datawrangler.handoff.source import prepare_source
from tests.conftest import write_file
from tests.handoff.conftest import Oracle
from tests.handoff.test_hostile import FILES, HOSTILE, NAME, Drive, manifest, run_cli, seal, snapshot


def _card(tmp_path: Path, at: str = "cards") -> Drive:
    card = tmp_path / at / "A001R2EC"
    for i, (rel, size) in enumerate(FILES.items()):
        write_file(card / rel, size, seed=i + 1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not the card's\n")
    return Drive(card.parent, card, outside)


CARD_CASES = ["dotdot", "etc-passwd", "drive-letter", "unc", "billion-laughs", "xxe-file", "huge",
              "deep", "not-utf8", "md5-short", "not-hex", "empty", "wrong-root", "manifest-is-a-link",
              "folder-is-a-link", "chain-names-itself", "chain-leads-outside"]


@pytest.mark.parametrize("case", CARD_CASES)
def test_a_cards_hostile_history_is_not_used(case: str, tmp_path: Path) -> None:
    card = _card(tmp_path)
    hostile = HOSTILE[case](card)
    before = snapshot(tmp_path)
    plan = OffloadPlan.create(card.roll, [str(tmp_path / "dest")], algorithms=("xxh64",))
    new_plan, src = prepare_source(plan)
    assert src is not None and src.history is None
    (problem,) = src.report().problems
    assert problem.startswith("The card's own ASC MHL history was not used: ") and hostile.expect in problem
    assert str(hostile.names) in problem and "each destination starts a new history" in problem
    # the history's md5 is not added, its folder is not copied as footage, nothing is compared
    assert new_plan.algorithms == ("xxh64",) and "ascmhl" in new_plan.ignore
    src.check(FileResult("SDINFO.TXT", 120, 0, FileStatus.VERIFIED, {"xxh64": "0" * 16}))
    src.finish(FILES)
    rep = src.report()
    assert (rep.checked, rep.matched, rep.mismatches, rep.missing, rep.new) == (0, 0, [], [], [])
    assert not rep.ok
    assert snapshot(tmp_path) == before
    hostile.after()


def test_a_symlink_out_of_the_card_is_not_the_historys_to_refuse(tmp_path: Path) -> None:
    """handoff.source never reads a file by a history's path (the card's own reading does, and the scan does
    not follow links): the history is used, and the linked path is reported as not on the card."""
    card = _card(tmp_path)
    HOSTILE["symlink-out"](card)
    _plan, src = prepare_source(OffloadPlan.create(card.roll, [str(tmp_path / "dest")], algorithms=("xxh64",)))
    assert src is not None and src.history is not None and not src.report().problems
    src.finish(FILES)
    assert src.report().missing == ["Linked/secret.txt"]


def test_offloading_a_card_whose_chain_leads_outside(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      oracle: Oracle) -> None:
    """The chain names a sound manifest four folders up. Trusted, it would be copied to the same place
    relative to the destination roll: outside it. Refused: the card is offloaded and verified, the
    destination starts a history of its own that the reference accepts, and nothing lands outside the roll."""
    card = _card(tmp_path, "cards/deep")
    planted = tmp_path / "planted.mhl"
    data = manifest(card)
    planted.write_bytes(data)
    seal(card.roll, {NAME: data}, [ChainLink(1, "../../../../planted.mhl", c4_of(data))])
    dest = tmp_path / "dest" / "x" / "y"
    dest.mkdir(parents=True)
    before = snapshot(tmp_path)

    run = run_cli(capsys, "offload", card.roll, dest)
    assert run.code == 0 and run.done["files_verified"] == len(FILES), run.events
    (hist,) = run.of("source_history")
    assert hist["ok"] is False and len(hist["problems"]) == 1
    assert "lists '../../../../planted.mhl' as generation 1" in hist["problems"][0]
    assert any(w.get("code") == "source_history" and "was not used" in w["message"] for w in run.of("warning"))

    roll = dest / "A001R2EC"
    after = snapshot(tmp_path)
    added = {p for p in set(after) - set(before) if not (tmp_path / p).is_relative_to(roll)}
    assert added == set() and all(after[p] == before[p] for p in before), added  # the card and all else as they were
    assert not (tmp_path / "dest" / "planted.mhl").exists()
    history = load(str(roll))
    assert history is not None and [g.number for g in history.generations] == [1]
    assert {r.path for r in history.generations[0].records} == set(FILES)
    v = oracle.verify(roll)
    assert v.returncode == 0, v.stdout + v.stderr
