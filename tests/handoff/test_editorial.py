"""The editorial handoff of real offloads: the ALE and the clip CSV in each roll beside the other sidecars (after
the ASC MHL generation, which the reference `ascmhl verify` still passes), only for offloads that ended and have
clips, a clip not verified on a drive said there; the clip CSV's rows; a day's ALE over two offloads; and
`datawrangler ale` with its errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import opentimelineio as otio
import pytest

from datawrangler.cli import main
from datawrangler.config import Settings, save_settings
from datawrangler.core.clips import ClipMeta
from datawrangler.handoff import clipcsv
from datawrangler.handoff.editorial import EditorialError, write_day_ale, write_editorial, write_offload_ale
from datawrangler.handoff.history import load
from datawrangler.handoff.writer import HandoffOptions, HandoffResult, write_handoff
from datawrangler.store.db import open_catalog
from datawrangler.store.handoff import offload_summary
from datawrangler.store.handoff_names import sidecar_name
from tests.conftest import CardBuilder
from tests.handoff.conftest import CREATOR, NOW, Oracle, Recorded, RunOffload
from tests.handoff.test_ale import CARD_23976, META_23976, R, offload_with, read_ale_file, record

BOTH = HandoffOptions(ale=True, clip_csv=True)


def _names(rec: Recorded, roll: str) -> tuple[str, str]:
    db = open_catalog(rec.db_path)
    try:
        summary = offload_summary(db, rec.offload_id)
        assert summary is not None
        return sidecar_name(roll, summary.started_at, "ale"), sidecar_name(roll, summary.started_at, "clips.csv")
    finally:
        db.close()


def _handoff_then_editorial(rec: Recorded, mhl: HandoffOptions, editorial: HandoffOptions) -> HandoffResult:
    """As the app does it: the ASC MHL generation first, then the clips are read, then the editorial files."""
    db = open_catalog(rec.db_path)
    try:
        assert not write_handoff(db, rec.offload_id, mhl, now=NOW, creator=CREATOR).warnings
    finally:
        db.close()
    record(rec, META_23976)
    db = open_catalog(rec.db_path)
    try:
        return write_editorial(db, rec.offload_id, editorial)
    finally:
        db.close()


@pytest.fixture
def two_drives(make_card: CardBuilder, dest_dirs, recorded_offload: RunOffload) -> Recorded:
    rec = recorded_offload(make_card(CARD_23976, name=R), dest_dirs(2))
    assert rec.result.all_verified
    return rec


def test_each_roll_gets_its_ale_and_clip_csv_and_the_reference_still_verifies(two_drives: Recorded,
                                                                               oracle: Oracle) -> None:
    rec = two_drives
    result = _handoff_then_editorial(rec, BOTH, BOTH)
    assert not result.warnings, result.warnings
    rolls = list(rec.plan.destinations)
    expected = [str(Path(roll) / n) for roll in rolls for n in _names(rec, roll)]
    assert result.written == expected
    ale, clips = (Path(p).name for p in expected[:2])
    assert re.fullmatch(rf"{R}_\d{{4}}-\d\d-\d\d_\d{{6}}Z\.ale", ale) and clips == ale[:-4] + ".clips.csv"
    for roll in rolls:
        ale_name, csv_name = _names(rec, roll)
        assert sorted(read_ale_file(Path(roll) / ale_name)) == sorted(META_23976)
        rows = list(csv.DictReader(io.StringIO((Path(roll) / csv_name).read_text("utf-8"), newline="")))
        assert sorted(r["clip"] for r in rows) == sorted(META_23976)
        history = load(roll)
        assert history is not None and {ale_name, csv_name} <= set(history.latest_ignore())
        v = oracle.verify(Path(roll))
        assert v.returncode == 0, v.stdout + v.stderr


def test_a_generation_that_does_not_name_them_sees_them_as_new(two_drives: Recorded, oracle: Oracle) -> None:
    """Why the writer names the editorial files before they exist: written after a generation that does not
    ignore them, the reference calls them new files."""
    rec = two_drives
    result = _handoff_then_editorial(rec, HandoffOptions(), HandoffOptions(ale=True))
    assert len(result.written) == 2
    roll = Path(rec.plan.destinations[0])
    v = oracle.verify(roll)
    assert v.returncode != 0 and _names(rec, str(roll))[0] in v.stdout + v.stderr


def test_only_the_kinds_asked_for(two_drives: Recorded) -> None:
    rec = two_drives
    result = _handoff_then_editorial(rec, HandoffOptions(clip_csv=True), HandoffOptions(clip_csv=True))
    assert [Path(p).name.endswith(".clips.csv") for p in result.written] == [True, True]
    db = open_catalog(rec.db_path)
    try:
        assert write_editorial(db, rec.offload_id, HandoffOptions()).written == []
    finally:
        db.close()
    for roll in rec.plan.destinations:
        assert not list(Path(roll).glob("*.ale"))


def test_the_preset_kinds_through_a_real_offload(make_card: CardBuilder, dest_dirs, oracle: Oracle,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The app's order (generation, clips read from a verified copy, editorial files) from the command line:
    the card's movies are not movies, so their clips are possibly damaged, and the ALE says so."""
    pytest.importorskip("datawrangler.media.read", reason="the app reads clips through datawrangler.media.read")
    save_settings(Settings(extra={"handoff": {"ascmhl": True, "ale": True, "clip_csv": True}}))
    card = make_card()
    d1, d2 = dest_dirs(2)
    capsys.readouterr()
    code = main(["offload", str(card), str(d1), str(d2), "--json"])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert code in (0, 1), events[-1]
    written = [Path(p) for e in events if e["event"] == "handoff" for p in e.get("paths", [])]
    for roll in (d1 / card.name, d2 / card.name):
        ales = [p for p in written if p.parent == roll and p.suffix == ".ale"]
        csvs = [p for p in written if p.parent == roll and p.name.endswith(".clips.csv")]
        assert len(ales) == 1 and len(csvs) == 1, written
        got = read_ale_file(ales[0])
        assert set(got) == {"A001C001_231014_R2EC", "A001C002_231014_R2EC", "A001C003_231014_R2EC"}
        assert all(str(c.metadata["ALE"]["Comments"]).startswith("POSSIBLY DAMAGED") for c in got.values())
        v = oracle.verify(roll)
        assert v.returncode == 0, v.stdout + v.stderr


def _set_state(rec: Recorded, state: str) -> None:
    db = open_catalog(rec.db_path)
    try:
        db.conn.execute("UPDATE offloads SET state = ? WHERE id = ?", (state, rec.offload_id))
        db.conn.commit()
    finally:
        db.close()


@pytest.mark.parametrize("state", ["interrupted", "cancelled", "running"])
def test_nothing_for_an_offload_that_did_not_end(two_drives: Recorded, state: str) -> None:
    rec = two_drives
    record(rec, META_23976)
    _set_state(rec, state)
    db = open_catalog(rec.db_path)
    try:
        result = write_editorial(db, rec.offload_id, BOTH)
    finally:
        db.close()
    assert result.written == []
    assert result.warnings == [f"Offload {rec.offload_id} is {state}: no ALE or clip CSV was written. Resume it "
                               "first."]
    assert not [p for roll in rec.plan.destinations for p in Path(roll).iterdir() if p.suffix in (".ale", ".csv")]


def test_an_offload_without_clips_writes_nothing_and_says_why(two_drives: Recorded) -> None:
    rec = two_drives
    db = open_catalog(rec.db_path)
    try:
        result = write_editorial(db, rec.offload_id, BOTH)
        with pytest.raises(ValueError, match="There is no offload 999"):
            write_editorial(db, 999, BOTH)
    finally:
        db.close()
    assert result.written == []
    [said] = result.warnings
    assert said.startswith(f"Offload {rec.offload_id} has no clips in the catalog") and \
        f"'datawrangler clips {rec.offload_id} --read'" in said


def test_a_clip_not_verified_on_one_drive_says_so_there_only(two_drives: Recorded) -> None:
    rec = two_drives
    record(rec, META_23976)
    db = open_catalog(rec.db_path)
    try:
        db.conn.execute("UPDATE copies SET state = 'failed' WHERE destination_id = (SELECT id FROM destinations "
                        "WHERE offload_id = ? ORDER BY idx DESC LIMIT 1) AND file_id IN (SELECT id FROM files WHERE "
                        "rel_path LIKE '%.0086401.dpx')", (rec.offload_id,))
        db.conn.commit()
        result = write_editorial(db, rec.offload_id, HandoffOptions(ale=True))
    finally:
        db.close()
    first, second = (Path(p) for p in result.written)
    assert result.warnings == [f"{rec.plan.destinations[1]}: 1 clip in the editorial files has files not verified "
                               "on this drive; their Comments say so."]

    def comment(path: Path) -> str:
        clips = read_ale_file(path)
        return str(clips["A001C006_231014_R2EC"].metadata["ALE"]["Comments"])

    assert comment(first) == "frame 86404 missing"
    assert comment(second) == "frame 86404 missing; NOT VERIFIED on this drive: 1 of 9 files"


def test_a_missing_drive_is_said_and_the_other_roll_written(two_drives: Recorded) -> None:
    rec = two_drives
    record(rec, META_23976)
    gone = Path(rec.plan.destinations[0])
    gone.rename(gone.with_name("unplugged"))
    db = open_catalog(rec.db_path)
    try:
        result = write_editorial(db, rec.offload_id, BOTH)
    finally:
        db.close()
    assert [Path(p).parent for p in result.written] == [Path(rec.plan.destinations[1])] * 2
    assert result.warnings == [f"{gone} is not there (drive disconnected?): no ALE or clip CSV written to it. Write "
                               f"them with 'datawrangler ale {rec.offload_id} -o FILE' once it is back."]


def test_clip_csv_has_every_field_of_every_clip(two_drives: Recorded) -> None:
    rec = two_drives
    clips = record(rec, META_23976)
    data = clipcsv.render_clip_csv(clips)
    assert data.split(b"\r\n")[0].decode() == ",".join(clipcsv.COLUMNS)
    rows = {r["clip"]: r for r in csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))}
    assert list(rows) == [c.name for c in clips]
    first = rows["A001C001_231014_R2EC"]
    assert {k: first[k] for k in ("kind", "state", "tc_in", "tc_out", "duration", "frames", "fps", "fps_exact",
                                  "width", "height", "codec", "camera", "reel_name", "audio_channels", "first_file",
                                  "roll", "warnings")} == {
        "kind": "video", "state": "read", "tc_in": "01:00:00:00", "tc_out": "01:00:09:23", "duration": "00:00:10:00",
        "frames": "240", "fps": "23.976", "fps_exact": "24000/1001", "width": "1920", "height": "1080",
        "codec": "Apple ProRes 422 HQ", "camera": "ALEXA Mini LF", "reel_name": "A001R2EC", "audio_channels": "2",
        "first_file": f"{R}/A001C001_231014_R2EC.mov", "roll": R, "warnings": ""}
    assert json.loads(first["file_paths"]) == [f"{R}/A001C001_231014_R2EC.XML", f"{R}/A001C001_231014_R2EC.mov"]
    assert int(first["bytes"]) == CARD_23976[f"{R}/A001C001_231014_R2EC.mov"]
    seq = rows["A001C006_231014_R2EC"]
    assert (seq["first_frame"], seq["last_frame"], seq["missing_frames"], seq["gaps"], seq["frames"], seq["files"]) \
        == ("86400", "86409", "1", "frame 86404 missing", "10", "9")
    assert seq["warnings"] == "frame 86404 missing"
    sound = rows["T001"]
    assert json.loads(sound["track_names"]) == ["Boom", "Lav 1", "Lav 2", "Mix"]
    assert (sound["scene"], sound["sound_roll"], sound["sample_rate"], sound["bit_depth"]) == \
        ("12A\tday\r\nint", "SR01", "48000", "24")  # CSV quotes what the ALE had to flatten
    damaged = rows["A001C004_231014_R2EC"]
    assert damaged["state"] == "possibly damaged" and "moov atom not found" in damaged["warnings"]
    assert json.loads(damaged["problems"]) == list(META_23976["A001C004_231014_R2EC"].problems)
    assert rows["A001_C007_1014AB_001"]["state"] == "not read" and rows["Café ñ"]["tc_in"] == ""


def _move_to(rec: Recorded, when: dt.datetime) -> None:
    db = open_catalog(rec.db_path)
    try:
        db.conn.execute("UPDATE offloads SET started_at = ? WHERE id = ?", (when.timestamp(), rec.offload_id))
        db.conn.commit()
    finally:
        db.close()


def test_a_days_ale_over_two_offloads(make_card: CardBuilder, dest_dirs, recorded_offload: RunOffload,
                                      tmp_path: Path) -> None:
    day = dt.datetime(2023, 10, 14, 9, 30)
    a, a_clips = offload_with(make_card, dest_dirs, recorded_offload, CARD_23976, META_23976)
    _move_to(a, day)
    b_files = {"B001/B001C001_231014_R3AB.mov": 5_000, "B001/B001C002_231014_R3AB.mov": 5_000}
    b_meta = {"B001C001_231014_R3AB": ClipMeta(fps="24000/1001", frames=48, tc_in="15:00:00:00", reel="B001R3AB"),
              "B001C002_231014_R3AB": ClipMeta(fps="24000/1001", frames=24, tc_in="15:10:00:00", reel="B001R3AB")}
    b, b_clips = offload_with(make_card, dest_dirs, recorded_offload, b_files, b_meta, name="B001R3AB")
    _move_to(b, day + dt.timedelta(hours=14, minutes=15))  # 23:45, same day
    c, _ = offload_with(make_card, dest_dirs, recorded_offload, {"C001/C001C001.mov": 5_000},
                        {"C001C001": ClipMeta(fps="25", frames=25, tc_in="01:00:00:00")}, name="C001")
    _move_to(c, day + dt.timedelta(days=1, hours=-7))  # 02:30 the next day: the next shooting day by midnight
    assert a.db_path == b.db_path == c.db_path
    target = tmp_path / "day.ale"
    db = open_catalog(a.db_path)
    try:
        result = write_day_ale(db, "2023-10-14", target)
        late = write_day_ale(db, "2023-10-14", tmp_path / "night.ale", day_start="06:00")
    finally:
        db.close()
    assert result.written == [str(target)] and not result.warnings
    got = read_ale_file(target)
    assert list(got) == [c.name for c in (*a_clips, *b_clips)]  # by offload start, then by name
    assert got["B001C002_231014_R3AB"].metadata["ALE"]["Tape"] == "B001R3AB"
    assert otio.opentime.to_timecode(got["B001C002_231014_R3AB"].source_range.start_time, 24000 / 1001) == \
        "15:10:00:00"
    night = read_ale_file(tmp_path / "night.ale")
    assert set(night) == {*META_23976, *b_meta, "C001C001"}  # a day from 06:00 takes the 02:30 offload in
    assert late.warnings == ["2023-10-14: 1 clip (C001C001) is at another frame rate than the ALE's 23.976 fps: "
                             "their Start/End/Duration are given at 23.976 fps, their own rate is in the Clip FPS "
                             "column and their Comments say their own TC in. Check them in the bin after the import."]


def test_a_card_offloaded_twice_in_a_day_is_listed_once(make_card: CardBuilder, dest_dirs, tmp_path: Path,
                                                        recorded_offload: RunOffload) -> None:
    card = make_card(CARD_23976, name=R)
    first = recorded_offload(card, dest_dirs(1))
    record(first, META_23976)
    shuttle = tmp_path / "shuttle"
    shuttle.mkdir()
    second = recorded_offload(card, [shuttle])
    record(second, {**META_23976, "T001": ClipMeta(fps="24000/1001", duration=1.0, tc_in="14:24:00:00")})
    day = dt.datetime.fromtimestamp(offload_summary_started(first)).date().isoformat()
    db = open_catalog(first.db_path)
    try:
        write_day_ale(db, day, tmp_path / "day.ale")
    finally:
        db.close()
    clips = read_ale_file(tmp_path / "day.ale")
    assert len(clips) == len(META_23976)
    assert clips["T001"].source_range.duration.value == 24  # the latest reading of the clip wins


def offload_summary_started(rec: Recorded) -> float:
    db = open_catalog(rec.db_path)
    try:
        summary = offload_summary(db, rec.offload_id)
        assert summary is not None
        return summary.started_at
    finally:
        db.close()


def test_offload_ale_errors(two_drives: Recorded, tmp_path: Path) -> None:
    rec = two_drives
    db = open_catalog(rec.db_path)
    try:
        with pytest.raises(EditorialError) as no_clips:
            write_offload_ale(db, rec.offload_id, tmp_path / "x.ale")
        with pytest.raises(EditorialError) as unknown:
            write_offload_ale(db, 999, tmp_path / "x.ale")
        with pytest.raises(EditorialError) as bad_day:
            write_day_ale(db, "14.10.2023", tmp_path / "x.ale")
        with pytest.raises(EditorialError) as empty_day:
            write_day_ale(db, "1999-01-01", tmp_path / "x.ale")
    finally:
        db.close()
    assert [e.value.code for e in (no_clips, unknown, bad_day, empty_day)] == ["no_clips", "unknown_offload",
                                                                               "bad_day", "no_clips"]
    assert not (tmp_path / "x.ale").exists()


def _cli(capsys: pytest.CaptureFixture[str], rec: Recorded, *args: str) -> tuple[int, list[dict]]:
    capsys.readouterr()
    code = main(["ale", *args, "--catalog", str(rec.db_path), "--json"])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_cli_writes_an_offloads_ale_or_clip_csv(two_drives: Recorded, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    rec = two_drives
    record(rec, META_23976)
    code, events = _cli(capsys, rec, str(rec.offload_id), "-o", str(tmp_path / "A001.ale"))
    assert code == 0 and events[-1]["paths"] == [str(tmp_path / "A001.ale")], events
    assert len(read_ale_file(tmp_path / "A001.ale")) == len(META_23976)
    code, _ = _cli(capsys, rec, str(rec.offload_id), "-o", str(tmp_path / "A001.csv"), "--clip-csv")
    assert code == 0
    assert (tmp_path / "A001.csv").read_text("utf-8").startswith(",".join(clipcsv.COLUMNS))
    day = dt.datetime.fromtimestamp(offload_summary_started(rec)).date().isoformat()
    code, _ = _cli(capsys, rec, "--day", day, "-o", str(tmp_path / "day.ale"))
    assert code == 0 and (tmp_path / "day.ale").read_bytes().startswith(b"Heading\r\n")


@pytest.mark.parametrize(("args", "error"), [
    ([], "bad_argument"),
    (["1", "--day", "2023-10-14"], "bad_argument"),
    (["999"], "unknown_offload"),
    (["--day", "2023-13-45"], "bad_day"),
    (["--day", "1999-01-01"], "no_clips"),
])
def test_cli_errors(two_drives: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                    error: str) -> None:
    rec = two_drives
    code, events = _cli(capsys, rec, *args, "-o", str(tmp_path / "x.ale"))
    assert code == 2
    assert events[-1]["event"] == "error" and events[-1]["code"] == error, events
    assert not (tmp_path / "x.ale").exists()


def test_cli_no_clips_and_unwritable_places(two_drives: Recorded, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    rec = two_drives
    code, events = _cli(capsys, rec, str(rec.offload_id), "-o", str(tmp_path / "x.ale"))
    assert (code, events[-1]["code"]) == (2, "no_clips")
    assert f"'datawrangler clips {rec.offload_id} --read'" in events[-1]["message"]
    record(rec, META_23976)
    for target in (tmp_path / "no such folder" / "x.ale", tmp_path):
        code, events = _cli(capsys, rec, str(rec.offload_id), "-o", str(target))
        assert (code, events[-1]["code"]) == (2, "bad_target"), events
    out = tmp_path / "out"
    out.mkdir()
    code, events = _cli(capsys, rec, str(rec.offload_id), "-o", str(out / ("x" * 300 + ".ale")))  # name too long
    assert (code, events[-1]["code"]) == (1, "write_failed"), events
    assert "choose a place you can write to" in events[-1]["message"]
    assert list(out.iterdir()) == []  # no temporary file left behind
