"""`datawrangler inspect` and `datawrangler watch` (registered by cli.cards_cmds.register)."""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler import cli
from datawrangler.cli import cards_cmds
from datawrangler.config import save_presets
from datawrangler.core.presets import Preset
from tests.conftest import CardBuilder


@pytest.fixture(autouse=True)
def _wired(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands as cli/__init__.py wires them (a no-op once it does)."""
    build = cli.build_parser

    def wired() -> argparse.ArgumentParser:
        p = build()
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        if "inspect" not in sub.choices:
            cards_cmds.register(sub)
        return p

    monkeypatch.setattr(cli, "build_parser", wired)


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_inspect_prints_what_recognition_sees(make_card: CardBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    card = make_card(name="A001R2EC")
    assert cli.main(["inspect", str(card)]) == 0
    out = capsys.readouterr().out
    assert "ARRI ALEXA / AMIRA" in out
    assert "reel A001 (camera A), card id A001R2EC" in out
    assert "3 clips: A001C001_231014_R2EC … A001C003_231014_R2EC" in out
    assert "fingerprint " in out


def test_inspect_json_and_the_catalog(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
                                      capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    card = make_card(name="A001R2EC")
    assert cli.main(["inspect", str(card), "--json"]) == 0
    (obj,) = _lines(capsys.readouterr().out)
    assert obj["event"] == "card" and obj["vendor"] == "ARRI" and obj["reel"] == "A001"
    assert obj["generic"] is False and obj["clip_count"] == 3 and obj["catalog"] is None
    assert cli.main(["offload", str(card), *map(str, dest_dirs(2)), "-q"]) == 0
    capsys.readouterr()
    assert cli.main(["inspect", str(card), "--json"]) == 0
    (obj,) = _lines(capsys.readouterr().out)
    assert obj["catalog"]["exact"] is True and obj["catalog"]["known_offload"] == 1
    other = make_card(name="A001R9ZZ", files={"A001R9ZZ/A001C001_231016_R9ZZ.mov": 5}, root=tmp_path / "o")
    assert cli.main(["inspect", str(other)]) == 0
    assert "REEL COLLISION: Reel A001 was already offloaded" in capsys.readouterr().out


def test_inspect_an_unknown_layout_and_a_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stick").mkdir()
    (tmp_path / "stick" / "notes.txt").write_text("x")
    assert cli.main(["inspect", str(tmp_path / "stick")]) == 0
    assert "not a recognised camera card (generic)" in capsys.readouterr().out
    assert cli.main(["inspect", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_watch_starts_and_stops_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        no_leaked_threads: None) -> None:
    assert cli.main(["watch", "--root", str(tmp_path), "--json", "--duration", "0.3"]) == 0
    events = [e["event"] for e in _lines(capsys.readouterr().out)]
    assert events == ["watching", "stopped"]


def test_watch_auto_needs_a_known_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["watch", "--root", str(tmp_path), "--auto", "nope", "--duration", "0.1"]) == 2
    assert "No preset named 'nope'" in capsys.readouterr().err
    save_presets([Preset("empty")])
    assert cli.main(["watch", "--root", str(tmp_path), "--auto", "empty", "--duration", "0.1"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == "error: preset 'empty' has no destinations.\n"
    assert cli.main(["watch", "--root", str(tmp_path), "--auto", "empty", "--duration", "0.1", "--json"]) == 2
    assert _lines(capsys.readouterr().out) == [{"event": "error", "code": "no_destination",
                                                 "message": "preset 'empty' has no destinations."}]


@pytest.mark.root
def test_watch_reports_a_real_mount_its_card_and_the_unmount(
        tmp_path: Path, make_card: CardBuilder, card_mount, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
        no_leaked_threads: None) -> None:
    tree = make_card(name="B002R5QQ", files={"B002R5QQ/B002C001_231014_R5QQ.mov": 1000}, root=tmp_path / "st")
    root = tmp_path / "media"
    root.mkdir()
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(
        cli.main(["watch", "--root", str(root), "--json", "--duration", "4"])))
    t.start()
    time.sleep(0.5)
    m = card_mount(root / "B002", label="B002R5QQ", tree=tree)
    time.sleep(1.5)
    m.unmount()
    t.join()
    assert result == [0]
    lines = _lines(capsys.readouterr().out)
    assert [e["event"] for e in lines] == ["watching", "mounted", "card", "unmounted", "stopped"]
    assert lines[1]["volume"]["label"] == "B002R5QQ" and lines[1]["volume"]["fs_uuid"] == m.fs_uuid
    assert lines[2]["card"]["vendor"] == "ARRI" and lines[2]["card"]["reel"] == "B002"


@pytest.mark.root
def test_watch_auto_offloads_with_a_preset(tmp_path: Path, make_card: CardBuilder, card_mount,  # type: ignore[no-untyped-def]
                                           dest_dirs: Callable[[int], list[Path]],
                                           capsys: pytest.CaptureFixture[str], no_leaked_threads: None) -> None:
    tree = make_card(name="C003R1AB", files={"C003R1AB/C003C001_231014_R1AB.mov": 5000, "SDINFO.TXT": 10},
                     root=tmp_path / "st")
    dests = dest_dirs(2)
    save_presets([Preset("main", destinations=tuple(map(str, dests)), template="{card}",
                         algorithms=("xxh64", "md5"), handoff=("ascmhl", "md5sum"), keep_awake=False)])
    root = tmp_path / "media"
    root.mkdir()
    card_mount(root / "C003", label="C003R1AB", tree=tree)
    assert cli.main(["watch", "--root", str(root), "--existing", "--auto", "main", "--json", "--duration", "6"]) == 0
    lines = _lines(capsys.readouterr().out)
    kinds = [e["event"] for e in lines]
    assert kinds[:4] == ["watching", "mounted", "recognised", "started"], kinds
    finished = next(e for e in lines if e["event"] == "finished")
    assert finished["state"] == "verified"
    assert "handoff" in kinds
    for d in dests:
        roll = d / "C003R1AB"
        assert (roll / "C003R1AB/C003C001_231014_R1AB.mov").stat().st_size == 5000
        assert list((roll / "ascmhl").glob("0001_C003R1AB_*.mhl"))
        assert list(roll.glob("*.md5"))


def test_inspect_an_empty_card_with_a_catalog_names_no_reel(make_card: CardBuilder, dest_dirs: Callable,
                                                             tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    """An empty volume is never given a reel name, not even the counter's next one (issue 16)."""
    assert cli.main(["offload", str(make_card(name="A001R2EC")), *map(str, dest_dirs(2)), "-q"]) == 0  # a catalog
    capsys.readouterr()
    empty = tmp_path / "EMPTY"
    (empty / ".fseventsd").mkdir(parents=True)
    assert cli.main(["inspect", str(empty), "--json"]) == 0
    (obj,) = _lines(capsys.readouterr().out)
    assert obj["catalog"]["reel"] is None
    assert obj["catalog"]["message"] == "an empty card (no files after the ignore rules): no reel name"
