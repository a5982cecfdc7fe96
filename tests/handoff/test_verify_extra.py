"""`datawrangler verify ROLL` does not call DataWrangler's own handoff files "extra": the ascmhl/ folder and
the checksum lists, legacy MHL and CSV/JSON manifests it wrote into the roll are reported apart, as handoff
files. A file that is really not in the offload (a clip dropped into the roll, or a look-alike of a handoff
file's name) is still extra, and only it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datawrangler.cli import main
from datawrangler.config import Settings, save_settings
from datawrangler.core.hashing import LIST_ALGORITHMS
from datawrangler.store.handoff_names import SIDECAR_SUFFIXES
from tests.conftest import CardBuilder, write_file

EVERY_KIND = {"ascmhl": True, "legacy_mhl": True, "checksum_lists": ",".join(LIST_ALGORITHMS), "csv": True,
              "json": True}


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_every_handoff_suffix_is_known_to_verify() -> None:
    assert set(SIDECAR_SUFFIXES) == {*LIST_ALGORITHMS, "mhl", "csv", "json"}


def test_verify_reports_handoff_files_apart_and_a_stray_file_as_extra(
        make_card: CardBuilder, dest_dirs, capsys: pytest.CaptureFixture[str]) -> None:
    save_settings(Settings(extra={"handoff": EVERY_KIND}))
    card = make_card()
    d1, d2 = dest_dirs(2)
    code, events = _json(capsys, "offload", str(card), str(d1), str(d2), "--hash", ",".join(LIST_ALGORITHMS))
    assert code == 0, events[-1]
    roll = d1 / card.name
    written = {Path(p) for e in events if e["event"] == "handoff" for p in e["paths"]}
    sidecars = sorted(str(p) for p in written if p.parent == roll)
    assert {Path(p).suffix[1:] for p in sidecars} == set(SIDECAR_SUFFIXES)  # every kind, one file each
    assert (roll / "ascmhl").is_dir()

    code, events = _json(capsys, "verify", str(roll))
    done = events[-1]
    assert code == 0 and done["ok"] and done["extra"] == [], done
    assert sorted(done["handoff"]) == sorted([*sidecars, str(roll / "ascmhl") + "/"])

    capsys.readouterr()
    assert main(["verify", str(roll)]) == 0
    out = capsys.readouterr().out
    assert "extra (not in the catalog)" not in out and "9 handoff files (DataWrangler's own, not extra)" in out, out

    strays = [roll / "A001R2EC" / "A001C004_231014_R2EC.mov",  # the camera's next clip, dropped in by hand
              roll / "B001C001_231015_R2EC.mov",  # at the top of the roll, where the handoff files are
              roll / Path(sidecars[0]).with_stem(Path(sidecars[0]).stem.replace("Z", "1Z")).name,  # a look-alike
              roll / "Clips" / Path(sidecars[0]).name]  # a handoff file's name, but not where it is written
    for stray in strays:
        write_file(stray, 1000, seed=7)
        code, events = _json(capsys, "verify", str(roll))
        assert code == 0 and events[-1]["extra"] == [str(stray)], (stray, events[-1])
        assert len(events[-1]["handoff"]) == len(sidecars) + 1
        stray.unlink()
