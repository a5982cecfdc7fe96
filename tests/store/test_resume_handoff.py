"""A resume of an offload the catalog calls verified: refused while its ASC MHL is on every drive, and run
(nothing copied, the handoff written) when a drive lacks the generation of it, as after a power cut or a kill
between the catalog's 'verified' and the handoff files (store.resume.handoff_missing). Each on an SQLite file
and on a PostgreSQL catalog (DATAWRANGLER_CATALOG, as a station pointed at a server)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from datawrangler.store.location import open_location
from tests.conftest import CardBuilder
from tests.faults.common import mhl_entries
from tests.faults.conftest import Run, RunCli
from tests.faults.conftest import dw as dw  # the CLI fixture


@pytest.fixture
def on_catalog(catalog_location: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every command of the test uses this catalog, once per backend."""
    monkeypatch.setenv("DATAWRANGLER_CATALOG", catalog_location)
    return catalog_location


def _offloaded(dw: RunCli, make_card: CardBuilder, dest_dirs) -> tuple[Run, Path, list[Path]]:
    card = make_card({"Clips/A001C001.mov": 40_000, "Clips/A001C002.mov": 30_000}, name="A001R3AB")
    d1, d2 = dest_dirs(2)
    run = dw("offload", card, d1, d2)
    assert run.code == 0, run.raw[-2000:]
    return run, card, [d1 / card.name, d2 / card.name]


def test_a_verified_offload_with_its_handoff_is_not_resumed(dw: RunCli, make_card: CardBuilder, dest_dirs,
                                                            on_catalog: str) -> None:
    run, _card, _rolls = _offloaded(dw, make_card, dest_dirs)
    again = dw("resume", str(run.done["offload_id"]))
    assert again.code == 2
    assert "already verified: nothing to resume" in again.errors[0]["message"]


def test_a_verified_offload_whose_asc_mhl_was_lost_is_resumed_and_writes_it(dw: RunCli, make_card: CardBuilder,
                                                                           dest_dirs, on_catalog: str) -> None:
    run, _card, rolls = _offloaded(dw, make_card, dest_dirs)
    clips = set(mhl_entries(rolls[1]))
    assert clips == {"Clips/A001C001.mov", "Clips/A001C002.mov"}
    shutil.rmtree(rolls[1] / "ascmhl")  # the handoff never reached this drive
    again = dw("resume", str(run.done["offload_id"]))
    assert again.code == 0, again.raw[-2000:]
    assert again.done["state"] == "verified"
    assert not [e for e in again.of("file") if e.get("status") not in ("verified", None)]
    assert set(mhl_entries(rolls[1])) == clips
    assert dw("resume", str(run.done["offload_id"])).code == 2  # and now it has it
    db = open_location(on_catalog)  # the catalog the commands were pointed at holds the offload and its resume
    try:
        assert db.value("SELECT state FROM offloads WHERE id = :id", {"id": run.done["offload_id"]}) == "verified"
        assert db.value("SELECT COUNT(*) FROM offloads") == 1
    finally:
        db.close()
