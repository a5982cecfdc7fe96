"""The command line writes the handoff files: `offload` leaves an ASC MHL the reference tool accepts,
`verify` adds a generation, and an interrupted offload leaves none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datawrangler.cli import main
from tests.conftest import CardBuilder


def test_offload_command_writes_an_ascmhl_the_reference_accepts(make_card: CardBuilder, dest_dirs, oracle,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    card = make_card()
    d1, d2 = dest_dirs(2)
    assert main(["offload", str(card), str(d1), str(d2), "--hash", "xxh64,md5", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    handoff = [e for e in events if e["event"] == "handoff"]
    assert handoff and all("ascmhl" in p for p in handoff[0]["paths"] if p.endswith(".mhl"))
    for d in (d1, d2):
        roll = d / card.name
        manifests = sorted((roll / "ascmhl").glob("*.mhl"))
        assert len(manifests) == 1
        done = oracle.verify(roll)
        assert done.returncode == 0, done.stdout + done.stderr

    assert main(["verify", str(d1 / card.name)]) == 0  # a later re-verify adds a generation
    assert len(sorted((d1 / card.name / "ascmhl").glob("*.mhl"))) == 2
    assert oracle.verify(d1 / card.name).returncode == 0


def test_a_cancelled_offload_leaves_no_ascmhl(make_card: CardBuilder, dest_dirs, monkeypatch) -> None:
    from datawrangler.core.events import OffloadControl

    real_cancelled = OffloadControl.cancelled
    monkeypatch.setattr(OffloadControl, "cancelled", property(lambda self: True))
    card = make_card()
    (d1,) = dest_dirs(1)
    assert main(["offload", str(card), str(d1), "-q"]) == 5
    monkeypatch.setattr(OffloadControl, "cancelled", real_cancelled)
    assert not (d1 / card.name / "ascmhl").exists()
    assert not any(Path(d1).rglob("*.mhl"))
