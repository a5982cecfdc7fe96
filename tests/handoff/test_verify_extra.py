"""`datawrangler verify ROLL` does not call DataWrangler's own handoff files "extra": the ascmhl/ folder and
the checksum lists, legacy MHL, CSV/JSON manifests, ALE and clip CSV it wrote into the roll are reported apart,
as handoff files. A file that is really not in the offload (a clip dropped into the roll, or a look-alike of a handoff
file's name) is still extra, and only it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datawrangler.cli import main
from datawrangler.config import Settings, app_paths, save_settings
from datawrangler.core.clips import ClipMeta, group_clips
from datawrangler.core.hashing import LIST_ALGORITHMS
from datawrangler.handoff.editorial import write_editorial
from datawrangler.handoff.writer import HandoffOptions
from datawrangler.store.clips import ClipRecord, offload_file_paths, record_clips
from datawrangler.store.db import open_catalog
from datawrangler.store.handoff_names import SIDECAR_SUFFIXES
from tests.conftest import CardBuilder, write_file

EVERY_KIND = {"ascmhl": True, "legacy_mhl": True, "checksum_lists": ",".join(LIST_ALGORITHMS), "csv": True,
              "json": True, "ale": True, "clip_csv": True}


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_every_handoff_suffix_is_known_to_verify() -> None:
    assert set(SIDECAR_SUFFIXES) == {*LIST_ALGORITHMS, "mhl", "csv", "json", "ale", "clips.csv"}


def test_verify_reports_handoff_files_apart_and_a_stray_file_as_extra(
        make_card: CardBuilder, dest_dirs, capsys: pytest.CaptureFixture[str]) -> None:
    save_settings(Settings(extra={"handoff": EVERY_KIND}))
    card = make_card()
    d1, d2 = dest_dirs(2)
    code, events = _json(capsys, "offload", str(card), str(d1), str(d2), "--hash", ",".join(LIST_ALGORITHMS))
    assert code == 0, events[-1]
    roll = d1 / card.name
    written = {Path(p) for e in events if e["event"] == "handoff" for p in e["paths"]}
    # the editorial files, as the app writes them once the clips are read (here recorded by hand, so that this
    # does not depend on what the media readers make of the card's made-up movies)
    db = open_catalog(app_paths().catalog_file)  # where the offload command recorded it
    try:
        offload_id = db.conn.execute("SELECT MAX(id) FROM offloads").fetchone()[0]
        groups = group_clips(offload_file_paths(db, offload_id))
        record_clips(db, offload_id, [ClipRecord(g, ClipMeta(fps="25", frames=25, tc_in="01:00:00:00"))
                                      for g in groups])
        editorial = write_editorial(db, offload_id, HandoffOptions(ale=True, clip_csv=True))
    finally:
        db.close()
    written |= {Path(p) for p in editorial.written}
    sidecars = sorted(str(p) for p in written if p.parent == roll)
    assert sorted(Path(p).name.split(".", 1)[1] for p in sidecars) == sorted(SIDECAR_SUFFIXES)  # one file each
    assert (roll / "ascmhl").is_dir()

    code, events = _json(capsys, "verify", str(roll))
    done = events[-1]
    assert code == 0 and done["ok"] and done["extra"] == [], done
    assert sorted(done["handoff"]) == sorted([*sidecars, str(roll / "ascmhl") + "/"])

    capsys.readouterr()
    assert main(["verify", str(roll)]) == 0
    out = capsys.readouterr().out
    assert "extra (not in the catalog)" not in out and "11 handoff files (DataWrangler's own, not extra)" in out, out

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
