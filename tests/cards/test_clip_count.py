"""Clip counts as a DIT counts takes: every clip of every layout a vendor puts on one card, and a take that
is several files (frames, spans, chapters, proxies) once."""

from __future__ import annotations

from pathlib import Path

import pytest

from datawrangler.core.cards import recognise
from tests.cards.test_recognition import tree


def frames(clip: str, n: int = 3, folder: str = "") -> list[str]:
    return [f"{folder}{clip}/{clip}.{f:07d}.ari" for f in range(n)]


def test_prores_clips_and_arriraw_sequences_on_one_card_all_count(tmp_path: Path) -> None:
    root = tree(tmp_path / "card", [
        "A001R2EC/A001C001_231014_R2EC.mov", "A001R2EC/A001C002_231014_R2EC.mov",
        *frames("A001C003_231014_R2EC", folder="A001R2EC/"), *frames("A001C004_231014_R2EC", folder="A001R2EC/"),
        "SDINFO.TXT"])
    info = recognise(root)
    assert (info.vendor, info.reel, info.card_id) == ("ARRI", "A001", "A001R2EC")
    assert (info.clip_count, info.first_clip, info.last_clip) == (4, "A001C001_231014_R2EC", "A001C004_231014_R2EC")
    assert "ARRIRAW" in info.family and "ALEXA" in info.family
    assert info.clip_date == "231014"


def test_codex_root_with_mxf_clips_and_arriraw_sequences(tmp_path: Path) -> None:
    root = tree(tmp_path / "card", ["A002C001_231015_R1AB.mxf", *frames("A002C002_231015_R1AB"),
                                    "A002C003_231015_R1AB.mxf", *frames("A002C004_231015_R1AB", n=5)])
    info = recognise(root)
    assert (info.vendor, info.reel, info.card_id, info.clip_count) == ("ARRI", "A002", "A002R1AB", 4)


def test_a_take_recorded_as_arriraw_and_prores_counts_once(tmp_path: Path) -> None:
    root = tree(tmp_path / "card", ["A001R2EC/A001C001_231014_R2EC.mov", *frames("A001C001_231014_R2EC",
                                    folder="A001R2EC/"), "A001R2EC/A001C002_231014_R2EC.mov"])
    assert recognise(root).clip_count == 2


def test_canon_xf_avc_and_cinema_raw_light_on_one_card_all_count(tmp_path: Path) -> None:
    root = tree(tmp_path / "card", [
        "CONTENTS/CLIPS001/A001C001_231014AB_CANON.MXF", "CONTENTS/CLIPS001/A001C001_231014AB_CANON.XML",
        "DCIM/100CANON/A001C002_231014AB_CANON.CRM", "DCIM/100CANON/A001C003_231014AB_CANON.CRM",
        "DCIM/EOSMISC/M0001.CTG"])
    info = recognise(root)
    assert (info.vendor, info.reel, info.clip_count) == ("Canon", "A001", 3)
    assert (info.first_clip, info.last_clip) == ("A001C001_231014AB_CANON", "A001C003_231014AB_CANON")


def test_another_vendors_files_on_the_card_are_not_its_clips(tmp_path: Path) -> None:
    root = tree(tmp_path / "card", ["A001R2EC/A001C001_231014_R2EC.mov", "A001R2EC/A001C002_231014_R2EC.mov",
                                    "DCIM/100GOPRO/GX010001.MP4"])
    info = recognise(root)
    assert (info.vendor, info.clip_count, info.family) == ("ARRI", 2, "ALEXA / AMIRA")


ONE_TAKE_MANY_FILES = {
    "red-spans": (["A001_0102XY.RDM/A001_C001_0102AB.RDC/A001_C001_0102AB_001.R3D",
                   "A001_0102XY.RDM/A001_C001_0102AB.RDC/A001_C001_0102AB_002.R3D",
                   "A001_0102XY.RDM/A001_C001_0102AB.RDC/A001_C001_0102AB_003.R3D",
                   "A001_0102XY.RDM/A001_C001_0102AB.RDC/A001_C001_0102AB.RMD",
                   "A001_0102XY.RDM/A001_C002_0102CD.RDC/A001_C002_0102CD_001.R3D"],
                  "RED", 2, "A001_C001_0102AB", "A001_C002_0102CD"),
    "gopro-chapters": (["DCIM/100GOPRO/GX010001.MP4", "DCIM/100GOPRO/GX020001.MP4", "DCIM/100GOPRO/GX030001.MP4",
                        "DCIM/100GOPRO/GL010001.LRV", "DCIM/100GOPRO/GX010002.MP4", "DCIM/100GOPRO/GX020002.MP4"],
                       "GoPro", 2, "GX010001", "GX010002"),
    "gopro-old-chapters": (["DCIM/100GOPRO/GOPR0001.MP4", "DCIM/100GOPRO/GP010001.MP4",
                            "DCIM/100GOPRO/GP020001.MP4", "DCIM/100GOPRO/GOPR0002.MP4"],
                           "GoPro", 2, "GOPR0001", "GOPR0002"),
    "sony-xavc-with-proxies": (["XDROOT/Clip/A001C001_231014AB.MXF", "XDROOT/Clip/A001C001_231014ABM01.XML",
                                "XDROOT/Sub/A001C001_231014ABS03.MXF", "XDROOT/Clip/A001C002_231014AB.MXF",
                                "XDROOT/Sub/A001C002_231014ABS03.MXF", "XDROOT/MEDIAPRO.XML"],
                               "Sony", 2, "A001C001_231014AB", "A001C002_231014AB"),
    "sony-m4root-with-proxies": (["PRIVATE/M4ROOT/CLIP/C0001.MP4", "PRIVATE/M4ROOT/CLIP/C0001M01.XML",
                                  "PRIVATE/M4ROOT/SUB/C0001S03.MP4", "PRIVATE/M4ROOT/CLIP/C0002.MP4",
                                  "PRIVATE/M4ROOT/SUB/C0002S03.MP4", "PRIVATE/M4ROOT/MEDIAPRO.XML"],
                                 "Sony", 2, "C0001", "C0002"),
    "braw-prores-and-proxies": (["A001_10141530_C001.braw", "A001_10141531_C002.mov", "A001_10141540_C003.braw",
                                 "Proxy/A001_10141530_C001.mov", "Proxy/A001_10141540_C003.mp4"],
                                "Blackmagic", 3, "A001_10141530_C001", "A001_10141540_C003"),
}


@pytest.mark.parametrize("name", sorted(ONE_TAKE_MANY_FILES))
def test_a_take_of_several_files_counts_once(tmp_path: Path, name: str) -> None:
    paths, vendor, clips, first, last = ONE_TAKE_MANY_FILES[name]
    info = recognise(tree(tmp_path / "card", paths))
    assert (info.vendor, info.clip_count, info.first_clip, info.last_clip) == (vendor, clips, first, last)
