"""Hostile histories that would cost without bound: each `datawrangler import` / `verify` runs as its own
process with its address space capped at 512 MiB and a deadline, so that reading a 2 GB manifest, expanding
entities, building a tree millions of elements deep, opening a FIFO or reading /dev/zero would fail the test
(killed, MemoryError, or a timeout) instead of passing slowly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler.handoff.ascmhl import Entry, Hash
from tests.handoff.test_hostile import HOSTILE, NAME, Drive, drive, manifest, seal, snapshot

resource = pytest.importorskip("resource")

__all__ = ["drive"]  # the fixture

REPO = Path(__file__).resolve().parents[2]
LIMIT = 512 << 20
DEADLINE = 60  # seconds; each of these takes well under one


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def run_capped(*args: str | Path) -> tuple[int, list[dict[str, object]], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        p = subprocess.run([sys.executable, "-m", "datawrangler", *map(str, args), "--json"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=DEADLINE, preexec_fn=_capped)
    except subprocess.TimeoutExpired:
        pytest.fail(f"datawrangler {' '.join(map(str, args))} ran for over {DEADLINE} s on a hostile history")
    return p.returncode, [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")], p.stderr


def _very_deep(d: Drive) -> str:
    """30 MB of nothing but opening tags: as a tree, ten million elements (far over 512 MiB)."""
    head = manifest(d).split(b"<creatorinfo>")[0]
    seal(d.roll, {NAME: head + b"<a>" * 10_000_000})
    return "nests its elements more than 16 deep"


def _manifest_is_a_fifo(d: Drive) -> str:
    seal(d.roll, {NAME: manifest(d)})
    (d.folder / NAME).unlink()
    os.mkfifo(d.folder / NAME)  # opened for reading, it would wait for a writer forever
    return "is not a plain file (a folder, FIFO or device)"


def _from_case(case: str) -> Callable[[Drive], str]:
    return lambda d: HOSTILE[case](d).expect


def _zero_through_a_link(d: Drive) -> str:
    (d.roll / "Clips" / "endless.mov").symlink_to("/dev/zero")
    seal(d.roll, {NAME: manifest(d, Entry("Clips/endless.mov", 1 << 40, 0, (Hash("xxh64", "0" * 16, "original"),)))})
    return "'Clips/endless.mov', which leads outside"


COSTLY: dict[str, Callable[[Drive], str]] = {
    "2GB-manifest": _from_case("huge"),
    "billion-laughs": _from_case("billion-laughs"),
    "chain-laughs": _from_case("chain-laughs"),
    "ten-million-deep": _very_deep,
    "manifest-is-a-fifo": _manifest_is_a_fifo,
    "dev-zero-through-a-link": _zero_through_a_link,
}


@pytest.mark.parametrize("command", ["import", "verify"])
@pytest.mark.parametrize("case", COSTLY)
def test_a_costly_history_is_refused_within_bounds(case: str, command: str, drive: Drive, tmp_path: Path) -> None:
    expect = COSTLY[case](drive)
    before = snapshot(tmp_path)
    catalog = Path(os.environ["DATAWRANGLER_HOME"]) / "bounds.sqlite"
    code, events, stderr = run_capped(command, drive.root, "--catalog", catalog)
    done = [e for e in events if e["event"] == "done"]
    assert code == 1 and done, (code, events, stderr[-2000:])
    (roll,) = done[-1]["rolls"]
    said = [roll["message"]] if command == "import" else roll["problems"]
    assert any(expect in s and "refused" in s for s in said), said
    assert snapshot(tmp_path) == before


def test_a_fifo_the_history_records_is_never_opened(drive: Drive) -> None:
    """A sound history whose file has become a FIFO on the drive: reported unreadable, the others verified."""
    seal(drive.roll, {NAME: manifest(drive)})
    (drive.roll / "SDINFO.TXT").unlink()
    os.mkfifo(drive.roll / "SDINFO.TXT")
    catalog = Path(os.environ["DATAWRANGLER_HOME"]) / "bounds.sqlite"
    code, events, stderr = run_capped("verify", drive.root, "--catalog", catalog)
    (roll,) = [e for e in events if e["event"] == "done"][-1]["rolls"]
    assert code == 1 and roll["unreadable"] == ["SDINFO.TXT"] and roll["verified"] == 2, (events, stderr[-2000:])
