"""store.clips on a catalog written by real offloads (the CLI's, reading real media with PyAV: ProRes, a
Broadcast WAV with bext and iXML, a DPX sequence with missing frames, a cut movie, camera raw nobody reads),
once on an SQLite file and once on a PostgreSQL server (`catalog_location`): what an offload records of its
clips reads back the same on both, by offload, card and day; recording again replaces; the verified copies to
read from come most verified first; the thumbnails are where the catalog's handle says."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from datawrangler.cli import main
from datawrangler.config import app_paths
from datawrangler.core.cards import fingerprint
from datawrangler.core.clips import ClipGroup, ClipKind, ClipMeta, ClipState, group_clips
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult, SourceFile
from datawrangler.store import clips
from datawrangler.store.location import open_location
from datawrangler.store.offloads import OffloadMeta, begin_offload
from tests.conftest import CardBuilder
from tests.media.cards import CUT, MOV, RED, SEQ, media_card
from tests.media.stillgen import Ixml, Wav

# by name, as the catalog orders them (byte order: 'C' before '_')
NAMES = [MOV, CUT, SEQ, RED, "T003"]
MISSING = (86405, 86407, 86408)


def _media_card(root: Path) -> Path:
    """A001R2EC (tests.media.cards): its DPX sequence lacks frames 86405 and 86407-86408."""
    return media_card(root, (n for n in range(86400, 86412) if n not in MISSING))


def _listing(card: Path) -> dict[str, int]:
    """{rel_path: size} of every file on the card, as the catalog names them."""
    return {p.relative_to(card).as_posix(): p.stat().st_size for p in card.rglob("*") if p.is_file()}


def _offload(card: Path, dests: list[Path], location: str, *extra: str) -> int:
    """A real CLI offload into `dests`; its offload's id."""
    code = main(["offload", str(card), *map(str, dests), "-q", "--catalog", location, *extra])
    assert code in (0, 1), f"the offload of {card} ended with exit {code}"  # 1: a flagged clip, still verified
    db = open_location(location)
    try:
        return int(db.value("SELECT MAX(id) FROM offloads"))
    finally:
        db.close()


def _by_name(rows: list[clips.ClipRow]) -> dict[str, clips.ClipRow]:
    return {r.name: r for r in rows}


def _values(rows: list[clips.ClipRow]) -> list[tuple]:
    """What a clip row says, without the ids a backend chooses (a re-read gets new ones)."""
    return [(r.name, r.kind, r.files, r.bytes, r.first_frame, r.last_frame, r.gaps, r.meta, r.thumbnails,
             r.reel, r.roll_name, r.file_paths) for r in rows]


def test_an_offload_s_clips_read_back_with_what_the_media_said(
        tmp_path: Path, dest_dirs: Callable[[int], list[Path]], catalog_location: str) -> None:
    card = _media_card(tmp_path / "card")
    listing = _listing(card)
    before = time.time()
    oid = _offload(card, dest_dirs(2), catalog_location, "--reel", "A001")
    after = time.time()
    db = open_location(catalog_location)
    try:
        rows = clips.offload_clips(db, oid, with_paths=True)
        assert [r.name for r in rows] == NAMES
        got = _by_name(rows)
        seq, wav, red, mov, damaged = got[SEQ], got["T003"], got[RED], got[MOV], got[CUT]
        assert seq.kind is ClipKind.SEQUENCE and seq.gaps == ((86405, 86405), (86407, 86408))
        assert (seq.first_frame, seq.last_frame, seq.files, seq.meta.frames) == (86400, 86411, 9, 9)
        assert seq.meta.tc_in == "01:00:00:00" and seq.meta.width == 64 and seq.flagged
        assert seq.file_paths == tuple(sorted(p for p in listing if p.startswith(f"{SEQ}/")))
        assert seq.bytes == sum(listing[p] for p in seq.file_paths)
        assert wav.kind is ClipKind.AUDIO and wav.meta.tc_in == "01:00:00:00"
        assert (wav.meta.scene, wav.meta.take, wav.meta.tape, wav.meta.tracks) == ("12A", "3", "S001",
                                                                                   ("MixL", "MixR"))
        assert (wav.meta.sample_rate, wav.meta.bit_depth, wav.meta.audio_channels) == (48000, 24, 2)
        assert wav.meta.duration == pytest.approx(2.0) and not wav.flagged
        assert wav.file_paths == ("SOUND/T003.WAV",) and wav.bytes == listing["SOUND/T003.WAV"]
        assert red.kind is ClipKind.RAW and red.meta.state is ClipState.NOT_READ and not red.flagged
        assert "metadata not read" in red.meta.problems[0]
        assert (mov.meta.codec, mov.meta.width, mov.meta.height, mov.meta.fps, mov.meta.frames) == \
            ("ProRes 422 HQ", 320, 180, "24000/1001", 12)
        assert (mov.meta.tc_in, mov.meta.tc_out, mov.meta.reel, mov.meta.audio_channels) == \
            ("14:03:22:05", "14:03:22:16", "A001R2EC", 2)
        assert mov.meta.duration == pytest.approx(12 * 1001 / 24000, abs=0.01)
        assert damaged.meta.state is ClipState.DAMAGED and damaged.meta.problems and damaged.flagged
        card_id = db.value("SELECT card_id FROM offloads WHERE id = ?", (oid,))
        dests = {c.destination_id for c in clips.readable_copies(db, oid)}
        for r in rows:
            assert (r.offload_id, r.reel, r.roll_name, r.card_id) == (oid, "A001", "A001R2EC", card_id)
            assert before <= (r.read_at or 0) <= after
            assert r.meta.state is ClipState.NOT_READ or r.read_from in dests
        assert sum(len(r.file_paths) for r in rows) == len(listing)  # every file in one clip

        root = clips.thumbnails_root(db)  # beside the file; a server's in this station's data folder
        want = (Path(catalog_location).resolve().parent if "://" not in catalog_location
                else app_paths().data_dir) / "thumbnails"
        assert root == want
        for r in (seq, mov):
            assert r.thumbnails, f"{r.name} has no thumbnail"
            with Image.open(root / r.thumbnails[0]) as im:
                assert im.format == "JPEG" and im.width == r.meta.width

        plain = clips.offload_clips(db, oid)
        assert [r.file_paths for r in plain] == [()] * len(NAMES)
        assert _values(plain) == [(*v[:-1], ()) for v in _values(rows)]
        assert clips.has_clips(db, oid) and not clips.has_clips(db, oid + 1)
        assert clips.offload_clips(db, oid + 1) == []
        assert clips.offload_file_paths(db, oid) == sorted(listing)
        assert clips.offload_file_paths(db, oid + 1) == []
    finally:
        db.close()

    assert main(["clips", str(oid), "--read", "--catalog", catalog_location]) == 1  # flagged: exit 1
    db = open_location(catalog_location)
    try:  # read again: the rows replaced, nothing added
        again = clips.offload_clips(db, oid, with_paths=True)
        assert _values(again) == _values(rows)
        assert db.value("SELECT COUNT(*) FROM clips") == len(NAMES)
        assert db.value("SELECT COUNT(*) FROM clip_files") == len(listing)
    finally:
        db.close()


def _sound_card(root: Path, name: str, take: str) -> Path:
    card = root / name
    Wav(samples=4800, ixml=Ixml(scene="7", take=take, tape=name, tracks=("Boom",), rate="25", flag="NDF")
        ).write(card / f"{name}_T{take}.WAV")
    return card


def test_card_and_day_clips_gather_every_offload(
        tmp_path: Path, dest_dirs: Callable[[int], list[Path]], catalog_location: str) -> None:
    """A card offloaded twice lists the clips of both offloads, in offload order; a day lists the clips of
    the offloads that started in it, and nothing of those before or after."""
    d1, d2, d3 = dest_dirs(3)
    first = _sound_card(tmp_path / "cards", "S001", "1")
    other = _sound_card(tmp_path / "cards", "S002", "4")
    o1 = _offload(first, [d1], catalog_location)
    time.sleep(0.01)
    o2 = _offload(other, [d1], catalog_location)
    time.sleep(0.01)
    o3 = _offload(first, [d2, d3], catalog_location)  # the same card again, onto other drives
    db = open_location(catalog_location)
    try:
        started = {oid: db.value("SELECT started_at FROM offloads WHERE id = ?", (oid,)) for oid in (o1, o2, o3)}
        cards = {oid: db.value("SELECT card_id FROM offloads WHERE id = ?", (oid,)) for oid in (o1, o2, o3)}
        assert cards[o1] == cards[o3] != cards[o2]
        again = clips.card_clips(db, cards[o1], with_paths=True)
        assert [(r.offload_id, r.name, r.meta.take, r.file_paths) for r in again] == \
            [(o1, "S001_T1", "1", ("S001_T1.WAV",)), (o3, "S001_T1", "1", ("S001_T1.WAV",))]
        assert {r.read_from for r in again[1:]} <= {c.destination_id for c in clips.readable_copies(db, o3)}
        assert [(r.offload_id, r.meta.tape) for r in clips.card_clips(db, cards[o2])] == [(o2, "S002")]
        assert clips.card_clips(db, 10_000) == []

        day = clips.day_clips(db, started[o1], started[o3] + 1, with_paths=True)
        assert [(r.offload_id, r.name, r.file_paths) for r in day] == \
            [(o1, "S001_T1", ("S001_T1.WAV",)), (o2, "S002_T4", ("S002_T4.WAV",)),
             (o3, "S001_T1", ("S001_T1.WAV",))]
        assert [r.offload_id for r in clips.day_clips(db, started[o2], started[o3])] == [o2]  # [start, end)
        assert [r.file_paths for r in clips.day_clips(db, started[o2], started[o3])] == [()]
        assert clips.day_clips(db, started[o3] + 1, started[o3] + 86400) == []
        assert clips.day_clips(db, 0, started[o1]) == []
    finally:
        db.close()


def test_record_clips_replaces_and_links_only_the_offload_s_files(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], catalog_location: str) -> None:
    card = make_card({"A001C001_231014_R2EC.mov": 1000, "A001C002_231014_R2EC.mov": 2000,
                      "A001C002_231014_R2EC.xml": 300, "SOUND/T001.WAV": 400})
    oid = _offload(card, dest_dirs(1), catalog_location, "--no-clips")
    db = open_location(catalog_location)
    try:
        assert not clips.has_clips(db, oid) and clips.offload_clips(db, oid) == []
        groups = {g.name: g for g in group_clips(clips.offload_file_paths(db, oid))}
        assert groups["A001C002_231014_R2EC"].sidecars == ("A001C002_231014_R2EC.xml",)
        meta = ClipMeta(codec="ProRes 4444", width=4448, height=3096, fps="25", duration=4.0, frames=100,
                        tc_in="10:00:00:00", tc_out="10:00:03:24", camera="ALEXA 35", scene="12A", take="3",
                        tracks=("MixL", "MixR"), extra={"lens": "Signature Prime 47mm", "iso": "800"},
                        problems=("checked by hand",))
        ghost = ClipGroup("ghost", ClipKind.VIDEO, ("ghost.mov",))  # not a file of this offload
        records = [clips.ClipRecord(groups["A001C001_231014_R2EC"], meta, ("o/a.jpg", "o/b.jpg")),
                   clips.ClipRecord(groups["A001C002_231014_R2EC"], ClipMeta(state=ClipState.DAMAGED)),
                   clips.ClipRecord(groups["T001"], ClipMeta(sample_rate=96000, bit_depth=32)),
                   clips.ClipRecord(ghost, ClipMeta(state=ClipState.UNAVAILABLE))]
        assert clips.record_clips(db, oid, records, at=1_700_000_000.25) == 4
        got = _by_name(clips.offload_clips(db, oid, with_paths=True))
        assert list(got) == ["A001C001_231014_R2EC", "A001C002_231014_R2EC", "T001", "ghost"]
        first = got["A001C001_231014_R2EC"]
        assert first.meta == meta and first.thumbnails == ("o/a.jpg", "o/b.jpg")
        assert (first.read_at, first.read_from, first.bytes, first.files) == (1_700_000_000.25, None, 1000, 1)
        second = got["A001C002_231014_R2EC"]  # its sidecar linked, not counted in its files or bytes
        assert second.file_paths == ("A001C002_231014_R2EC.mov", "A001C002_231014_R2EC.xml")
        assert (second.files, second.bytes, second.state, second.flagged) == (1, 2000, ClipState.DAMAGED, True)
        assert got["T001"].meta.sample_rate == 96000 and got["T001"].kind is ClipKind.AUDIO
        assert (got["ghost"].files, got["ghost"].bytes, got["ghost"].file_paths) == (1, 0, ())

        assert clips.record_clips(db, oid, records[:1], at=1_700_000_100.0) == 1  # again: replaced
        (only,) = clips.offload_clips(db, oid, with_paths=True)
        assert (only.name, only.meta, only.read_at, only.file_paths) == \
            ("A001C001_231014_R2EC", meta, 1_700_000_100.0, ("A001C001_231014_R2EC.mov",))
        assert db.value("SELECT COUNT(*) FROM clip_files") == 1
        assert clips.record_clips(db, oid, []) == 0
        assert not clips.has_clips(db, oid) and db.value("SELECT COUNT(*) FROM clip_files") == 0
    finally:
        db.close()


def test_a_clip_beyond_four_gigabytes_keeps_its_size(tmp_path: Path, catalog_location: str) -> None:
    """A long take spans files of 1.5 GB: the clip's bytes pass 2**32 (the store's own offload record; the
    card's listing is what record_clips sums, no file is read)."""
    for d in ("A001R2EC", "d1"):
        (tmp_path / d).mkdir()
    files = [SourceFile(f"CLIP/A001C003_231014_R2EC_{i:03d}.MP4", 1_500_000_000 + i, 1_697_000_000_000_000_000)
             for i in range(3)]
    scan = ScanResult(str(tmp_path / "A001R2EC"), files, [], [], sum(f.size for f in files))
    db = open_location(catalog_location)
    try:
        record = begin_offload(db, OffloadPlan.create(tmp_path / "A001R2EC", [tmp_path / "d1"]), scan,
                               fingerprint(scan), OffloadMeta(reel="A001"))
        group = ClipGroup("A001C003_231014_R2EC", ClipKind.VIDEO, tuple(f.rel_path for f in files))
        clips.record_clips(db, record.offload_id, [clips.ClipRecord(group, ClipMeta(duration=3600.125))])
        (row,) = clips.offload_clips(db, record.offload_id, with_paths=True)
        assert (row.bytes, row.files, row.meta.duration) == (4_500_000_003, 3, 3600.125)
        assert row.file_paths == group.files and row.reel == "A001"
    finally:
        db.close()


def test_readable_copies_come_most_verified_first(
        tmp_path: Path, dest_dirs: Callable[[int], list[Path]], catalog_location: str) -> None:
    """A copy that failed a re-verification is no longer one to read the clip from: the other drive first."""
    card = _sound_card(tmp_path / "cards", "S001", "1")
    (card / "S001_T2.WAV").write_bytes((card / "S001_T1.WAV").read_bytes()[:-8] + b"different")
    d1, d2 = dest_dirs(2)
    oid = _offload(card, [d1, d2], catalog_location)
    db = open_location(catalog_location)
    try:
        both = {"S001_T1.WAV", "S001_T2.WAV"}
        copies = clips.readable_copies(db, oid)
        assert [(c.roll, c.verified) for c in copies] == [(str(d1 / "S001"), both), (str(d2 / "S001"), both)]
        assert clips.readable_copies(db, oid + 1) == []
    finally:
        db.close()
    damaged = d1 / "S001" / "S001_T2.WAV"
    damaged.write_bytes(b"\0" * damaged.stat().st_size)  # a drive that rotted
    assert main(["verify", str(d1), "--catalog", catalog_location]) != 0
    db = open_location(catalog_location)
    try:
        copies = clips.readable_copies(db, oid)
        assert [(c.roll, c.verified) for c in copies] == \
            [(str(d2 / "S001"), both), (str(d1 / "S001"), frozenset({"S001_T1.WAV"}))]
        ids = [r[0] for r in db.run("SELECT id FROM destinations WHERE offload_id = ? ORDER BY idx", (oid,))]
        assert [c.destination_id for c in copies] == [ids[1], ids[0]]
    finally:
        db.close()

