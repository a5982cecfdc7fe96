"""Cards with clips in a real catalog: a real offload (engine and recorder), then its clips recorded as
`app.clips` records them (`store.clips.record_clips`, grouped by `core.clips.group_clips` from the offload's
files), with real JPEG thumbnails (a gradient with the clip's name on it) in the catalog's thumbnails folder.

The media readers are not run here: what they would have read is given, so every value a report prints is
known. The A001 card holds each kind of clip a report must say something different about:

- C001: ProRes, 23.976, TC in and out, stereo sound, a thumbnail;
- C002: possibly damaged (its recording was cut off), no picture;
- C003: a DPX sequence, frames 86400-86520 with 86411 and 86500-86502 missing;
- C004: an R3D clip, metadata not read;
- C005: a vertical phone clip (its thumbnail is taller than wide);
- C006: a thumbnail the catalog names that is not in the thumbnails folder;
- 231014_T001: Broadcast WAV from the sound recorder (scene, take, sound roll), no picture.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from datawrangler.core.clips import ClipMeta, ClipState, group_clips
from datawrangler.store import clips as store_clips
from datawrangler.store.clips import ClipRecord
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.reports.conftest import OffloadRunner

SEQ_RANGE = range(86400, 86521)
SEQ_MISSING = {86411, 86500, 86501, 86502}

A001_FILES = {
    "A001R2EC/A001C001_231014_R2EC.mov": 40_000, "A001R2EC/A001C002_231014_R2EC.mov": 30_000,
    **{f"A001R2EC/A001C003/A001C003_{n:07d}.dpx": 200 for n in SEQ_RANGE if n not in SEQ_MISSING},
    "A001R2EC/A001_C004_1014XY_001.R3D": 50_000, "A001R2EC/A001C005.mp4": 9_000,
    "A001R2EC/A001C006_231014_R2EC.mov": 8_000, "SOUND/231014_T001.WAV": 12_000, "SDINFO.TXT": 120,
}

DAMAGE = "the file ends at 30,000 bytes, before its index (moov atom): the recording was cut off"

A001_META: dict[str, ClipMeta] = {
    "A001C001_231014_R2EC": ClipMeta(container="mov", codec="ProRes 422 HQ", width=1920, height=1080,
                                     fps="24000/1001", duration=240 * 1001 / 24000, frames=240, tc_in="14:03:12:05",
                                     tc_out="14:03:22:04", reel="A001R2EC", audio_channels=2, sample_rate=48000),
    "A001C002_231014_R2EC": ClipMeta(state=ClipState.DAMAGED, container="mov", problems=(DAMAGE,)),
    "A001C003": ClipMeta(container="dpx", codec="DPX 10-bit", width=2048, height=1080, fps="24",
                         duration=117 / 24, frames=117, tc_in="01:00:00:00", tc_out="01:00:05:00"),
    "A001_C004_1014XY_001": ClipMeta(state=ClipState.NOT_READ, container="r3d",
                                     problems=("metadata not read: no open library reads R3D",)),
    "A001C005": ClipMeta(container="mp4", codec="H.264", width=1080, height=1920, fps="30", duration=3.0, frames=90,
                         tc_in="00:00:00:00", tc_out="00:00:02:29", audio_channels=1, sample_rate=44100),
    "A001C006_231014_R2EC": ClipMeta(container="mov", codec="ProRes 4444", width=3840, height=2160, fps="25",
                                     duration=4.0, frames=100, tc_in="10:00:00:00", tc_out="10:00:03:24"),
    "231014_T001": ClipMeta(container="wav", codec="PCM 24-bit", audio_channels=2, sample_rate=48000, bit_depth=24,
                            duration=65.4, fps="25", tc_in="14:03:10:00", tc_out="14:04:15:09", scene="12", take="3",
                            tape="231014"),
}
A001_THUMBS = {"A001C001_231014_R2EC": (320, 180), "A001C003": (320, 168), "A001C005": (180, 320)}
A001_MISSING_THUMB = "A001C006_231014_R2EC"


@dataclass(frozen=True)
class ClipCard:
    offload_id: int
    names: tuple[str, ...]  # the clips recorded, by name
    thumbnails: Mapping[str, Path]  # clip name -> its JPEG


def thumbnail_code(text: str) -> int:
    """The 16-bit pattern a test thumbnail carries for `text`: two thumbnails differ in at least one block."""
    return zlib.crc32(text.encode()) & 0xFFFF


def make_thumbnail(path: Path, text: str, size: tuple[int, int] = (320, 180)) -> Path:
    """A real JPEG as media.thumbs would write: a gradient with `text` drawn on it, and in its lower half 16
    black or white blocks spelling `thumbnail_code(text)`, so no two test thumbnails look alike."""
    w, h = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for x in range(w):
        draw.line([(x, 0), (x, h - 1)], fill=(x * 255 // w, 90, 255 - x * 255 // w))
    draw.rectangle([(6, 6), (w - 7, 26)], fill=(0, 0, 0))
    draw.text((10, 10), text, fill=(255, 255, 255))
    code, bw, bh = thumbnail_code(text), w / 8, h / 4
    for bit in range(16):
        left, top = bit % 8 * bw, h / 2 + bit // 8 * bh
        draw.rectangle([(round(left), round(top)), (round(left + bw) - 1, round(top + bh) - 1)],
                       fill=(255, 255, 255) if code >> bit & 1 else (0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=80)
    return path


def record(catalog: Path, offload_id: int, meta: Mapping[str, ClipMeta], thumbs: Mapping[str, tuple[int, int]],
           missing_thumb: str | None = None) -> ClipCard:
    """Group the offload's files into clips and record each with `meta[name]` (a clip not named there: read,
    no metadata) and a thumbnail for the clips in `thumbs` (name -> size in pixels)."""
    db = open_catalog(catalog)
    try:
        uuid = db.conn.execute("SELECT uuid FROM offloads WHERE id = ?", (offload_id,)).fetchone()[0]
        root = store_clips.thumbnails_root(db)
        assert root is not None
        groups = group_clips(store_clips.offload_file_paths(db, offload_id))
        records, made = [], {}
        for g in groups:
            rel: tuple[str, ...] = ()
            if g.name in thumbs:
                rel = (f"{uuid}/{g.name}.jpg",)
                made[g.name] = make_thumbnail(root / rel[0], g.name, thumbs[g.name])
            elif g.name == missing_thumb:
                rel = (f"{uuid}/{g.name}.jpg",)  # named in the catalog, never written
            records.append(ClipRecord(g, meta.get(g.name, ClipMeta()), rel, None))
        store_clips.record_clips(db, offload_id, records)
    finally:
        db.close()
    return ClipCard(offload_id, tuple(g.name for g in groups), made)


def shoot_a001(tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner,
               catalog: Path) -> ClipCard:
    """Card A001 (every kind of clip, see the module docstring), offloaded to two volumes and its clips read."""
    (tmp_path / "drive1").mkdir(exist_ok=True)
    oid, result = run_offload(make_card(A001_FILES, name="A001R2EC"), [tmp_path / "drive1", other_volume],
                              camera="A")
    assert result.files_verified == len(A001_FILES)
    return record(catalog, oid, A001_META, A001_THUMBS, A001_MISSING_THUMB)


def sequence_card(frames: int, name: str) -> dict[str, int]:
    """A card holding one DPX sequence of `frames` frames from 1001, and nothing else."""
    return {f"{name}/{name}C001/{name}C001_{n:07d}.dpx": 16 for n in range(1001, 1001 + frames)}

