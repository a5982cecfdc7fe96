"""An offload reads its clips once the copies are verified, from a verified destination copy, never from the
card: real sound files (Broadcast WAV with bext/iXML), a real DPX sequence with missing frames and camera raw
that no open library reads, through `datawrangler offload` and `datawrangler clips`."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from datawrangler import cli
from datawrangler.config import app_paths, save_presets
from datawrangler.core.clips import ClipKind, ClipState
from datawrangler.core.presets import Preset
from datawrangler.store import clips as store_clips
from datawrangler.store.db import open_catalog
from tests.media.cards import SEQ, media_card


def _card(root: Path) -> Path:
    """A001R2EC (tests.media.cards): its DPX sequence lacks frames 86411 and 86500-86502."""
    return media_card(root, (n for n in range(86400, 86520) if n != 86411 and not 86500 <= n <= 86502))


def _events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _clips(offload_id: int = 1) -> dict[str, store_clips.ClipRow]:
    db = open_catalog(app_paths().catalog_file)
    try:
        return {c.name: c for c in store_clips.offload_clips(db, offload_id, with_paths=True)}
    finally:
        db.close()


def test_an_offload_reads_its_clips_from_a_verified_copy_and_says_what_is_missing(
        tmp_path: Path, dest_dirs: Callable[[int], list[Path]], capsys: pytest.CaptureFixture[str]) -> None:
    card = _card(tmp_path / "card")
    d1, d2 = dest_dirs(2)
    assert cli.main(["offload", str(card), str(d1), str(d2), "--json", "-q"]) == 0  # flagged clips: still verified
    events = _events(capsys.readouterr().out)
    said = sorted(e["message"] for e in events if e.get("code") == "clip_flagged")
    assert len(said) == 2 and said[0].startswith("Clip A001C002_231014_R2EC: possibly damaged: ")
    assert "Clip A001C006_231014_R2EC: frames 86411, 86500-86502 missing" in said[1]
    summary = next(e for e in events if e["event"] == "clips" and "running time" in e["message"])
    assert summary["clips"] == 5 and summary["with_gaps"] == 1 and summary["not_read"] == 1
    assert summary["damaged"] == 1
    assert next(e for e in events if e["event"] == "done")["state"] == "verified"

    clips = _clips()
    seq, wav, red = clips[SEQ], clips["T003"], clips["A001_C002_1014XY_001"]
    assert seq.kind is ClipKind.SEQUENCE and seq.gaps == ((86411, 86411), (86500, 86502))
    assert (seq.first_frame, seq.last_frame, seq.meta.frames) == (86400, 86519, 116)
    assert seq.meta.tc_in == "01:00:00:00" and seq.meta.width == 64 and seq.flagged
    assert seq.read_from is not None and len(seq.file_paths) == 116
    assert wav.meta.tc_in == "01:00:00:00" and (wav.meta.scene, wav.meta.take, wav.meta.tape) == ("12A", "3", "S001")
    assert wav.meta.tracks == ("MixL", "MixR") and wav.meta.sample_rate == 48000 and not wav.flagged
    assert red.meta.state is ClipState.NOT_READ and not red.flagged  # never "damaged" for a format nobody reads
    mov = clips["A001C001_231014_R2EC"]
    assert (mov.meta.codec, mov.meta.width, mov.meta.fps, mov.meta.frames) == ("ProRes 422 HQ", 320, "24000/1001", 12)
    assert (mov.meta.tc_in, mov.meta.tc_out, mov.meta.reel, mov.meta.audio_channels) == \
        ("14:03:22:05", "14:03:22:16", "A001R2EC", 2)
    assert clips["A001C002_231014_R2EC"].meta.state is ClipState.DAMAGED
    assert "metadata not read" in red.meta.problems[0]
    thumb = store_clips.thumbnails_dir(app_paths().catalog_file) / seq.thumbnails[0]
    with Image.open(thumb) as im:  # a real JPEG of the middle frame present, beside the catalog, not in the roll
        assert im.format == "JPEG" and im.width == 64
    assert not any(p.suffix == ".jpg" for p in d1.rglob("*"))

    assert cli.main(["clips", "1"]) == 1  # a flagged clip: exit 1, the missing frames in words
    out = capsys.readouterr().out
    assert "frames 86411, 86500-86502 missing" in out and "T003" in out and "metadata not read" in out
    assert "14:03:22:05" in out and "ProRes 422 HQ 320x180 23.976" in out


def test_the_preset_s_editorial_files_and_the_report_carry_the_clips(
        tmp_path: Path, dest_dirs: Callable[[int], list[Path]], capsys: pytest.CaptureFixture[str]) -> None:
    """The ALE and the clip CSV the preset asks for are in each roll, and the offload report lists the clips."""
    card = _card(tmp_path / "card")
    d1, d2 = dest_dirs(2)
    save_presets([Preset("Editorial", destinations=(str(d1), str(d2)), template="{reel}",
                         handoff=("ascmhl", "ale", "clip_csv"), thumbnails=3)])
    assert cli.main(["offload", str(card), "--preset", "Editorial", "--json", "-q"]) == 0
    events = _events(capsys.readouterr().out)
    for dest in (d1, d2):
        (ale,) = dest.rglob("*.ale")
        (csv,) = dest.rglob("*.clips.csv")
        text = ale.read_text(encoding="utf-8")
        assert "A001C001_231014_R2EC" in text and "14:03:22:05" in text and "T003" in text
        assert "A001C006_231014_R2EC" in csv.read_text(encoding="utf-8")
    report = next(e for e in events if e["event"] == "report")
    pdf = next(p for p in report["paths"] if p.endswith(".pdf"))
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True).stdout
    assert "CLIP WARNINGS" in text and "frames 86411, 86500-86502 missing" in text and "14:03:22:05" in text
    assert len(_clips()["A001C001_231014_R2EC"].thumbnails) == 3


def test_clips_are_read_again_from_the_other_drive_when_the_card_and_one_drive_are_gone(
        tmp_path: Path, dest_dirs: Callable[[int], list[Path]], capsys: pytest.CaptureFixture[str]) -> None:
    card = _card(tmp_path / "card")
    d1, d2 = dest_dirs(2)
    assert cli.main(["offload", str(card), str(d1), str(d2), "--no-clips", "-q"]) == 0
    assert _clips() == {}  # --no-clips: nothing read
    shutil.rmtree(card)  # the card went back to the camera
    first = next(p for p in d1.iterdir())
    shutil.rmtree(first)  # and the first drive left the cart
    capsys.readouterr()
    assert cli.main(["clips", "1", "--read", "--thumbnails", "3"]) == 1
    clips = _clips()
    assert clips["T003"].meta.tc_in == "01:00:00:00"
    assert len(clips[SEQ].thumbnails) == 3
    db = open_catalog(app_paths().catalog_file)
    try:
        second = {c.destination_id: c.roll for c in store_clips.readable_copies(db, 1)}
    finally:
        db.close()
    assert {second[c.read_from] for c in clips.values()} == {str(next(d2.iterdir()))}  # read from drive 2

    shutil.rmtree(next(d2.iterdir()))  # no copy left to read: said, never guessed
    capsys.readouterr()
    assert cli.main(["clips", "1", "--read"]) == 1  # the sequence's gaps are known from the catalog's listing
    assert "5 not readable (no verified copy could be read)" in capsys.readouterr().err
    clips = _clips()
    assert {c.meta.state for c in clips.values()} == {ClipState.UNAVAILABLE}
    assert "no verified copy could be read" in clips["T003"].meta.problems[0]


def test_clips_of_an_unknown_offload(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["clips", "42"]) == 2
    assert "There is no offload 42 in the catalog" in capsys.readouterr().err


def test_a_thumbnails_folder_that_cannot_be_written_costs_the_thumbnails_only(
        tmp_path: Path, dest_dirs: Callable[[int], list[Path]], capsys: pytest.CaptureFixture[str]) -> None:
    """The thumbnails folder beside the catalog is not the copy: when it cannot be made, the clips are still
    read from the copy, without pictures, and the reason is kept with each clip."""
    card = _card(tmp_path / "card")
    d1, d2 = dest_dirs(2)
    app_paths().catalog_file.parent.mkdir(parents=True, exist_ok=True)
    store_clips.thumbnails_dir(app_paths().catalog_file).write_text("a file where the folder should be")
    assert cli.main(["offload", str(card), str(d1), str(d2), "-q"]) == 0
    clips = _clips()
    mov, seq = clips["A001C001_231014_R2EC"], clips[SEQ]
    assert mov.meta.state is ClipState.READ and mov.meta.tc_in == "14:03:22:05" and mov.thumbnails == ()
    assert seq.meta.state is ClipState.READ and seq.thumbnails == () and seq.read_from is not None
    assert any("cannot be written" in p for p in mov.meta.problems + seq.meta.problems)


def test_cancelled_clip_reading_records_what_was_read_and_says_so(
        tmp_path: Path, dest_dirs: Callable[[int], list[Path]]) -> None:
    from datawrangler.app.clips import ClipOptions, read_offload_clips

    card = _card(tmp_path / "card")
    assert cli.main(["offload", str(card), *map(str, dest_dirs(2)), "--no-clips", "-q"]) == 0
    asked = []

    def cancelled() -> bool:  # cancel after the first clip
        asked.append(1)
        return len(asked) > 1

    db = open_catalog(app_paths().catalog_file)
    try:
        with pytest.MonkeyPatch.context() as m:
            m.setattr("datawrangler.app.clips.READERS", 1)  # one at a time: "after the first" is exact
            found = read_offload_clips(db, app_paths().catalog_file, 1, ClipOptions(0), cancelled=cancelled)
    finally:
        db.close()
    assert found.cancelled and found.clips == 1 and found.summary.endswith("stopped: cancelled")
    assert len(_clips()) == 1


@pytest.mark.parametrize(("flags", "thumbnails"), [([], 1), (["--no-clips"], None), (["--thumbnails", "3"], 3)],
                         ids=["default", "no-clips", "three-thumbnails"])
def test_resume_reads_the_clips_as_offload_would_unless_told_not_to(
        tmp_path: Path, dest_dirs: Callable[[int], list[Path]], flags: list[str], thumbnails: int | None) -> None:
    from datawrangler.app.offload import run_offload
    from datawrangler.app.request import OffloadRequest
    from datawrangler.core.events import OffloadControl

    card = _card(tmp_path / "card")
    d1, d2 = dest_dirs(2)
    control = OffloadControl()
    control.cancel()  # stopped before its end: nothing verified, no clip read
    stopped = run_offload(OffloadRequest(str(card), (str(d1), str(d2)), report=False), control,
                          catalog=app_paths().catalog_file)
    assert stopped.result.state.value == "cancelled" and _clips(stopped.offload_id) == {}
    assert cli.main(["resume", str(stopped.offload_id), "-q", *flags]) == 0  # verified (flagged clips are said)
    clips = _clips(stopped.offload_id)
    if thumbnails is None:
        assert clips == {}  # --no-clips: nothing read, as for offload
        return
    assert set(clips) == {SEQ, "T003", "A001_C002_1014XY_001", "A001C001_231014_R2EC", "A001C002_231014_R2EC"}
    assert clips[SEQ].gaps == ((86411, 86411), (86500, 86502)) and len(clips[SEQ].thumbnails) == thumbnails
