"""Recognition of every family of DOMAIN.md from realistic trees (zero-byte files: no footage is read), and
lookalikes that must not be taken for a camera card."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from datawrangler.core.cards import (
    CardInfo,
    RulesError,
    default_rules,
    fingerprint,
    load_rules,
    recognise,
)
from datawrangler.core.scan import scan_source


def tree(root: Path, paths: list[str]) -> Path:
    for rel in paths:
        p = root / rel
        if rel.endswith("/"):
            p.mkdir(parents=True, exist_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"")
    return root


@dataclass(frozen=True)
class Case:
    name: str
    paths: list[str]
    vendor: str
    family_has: str
    media: str
    reel: str | None
    card_id: str | None
    clips: int
    first: str
    last: str


ARRIRAW = [f"A003C00{c}_231014_R1AB/A003C00{c}_231014_R1AB.{f:07d}.ari" for c in (1, 2) for f in range(3)]

CASES = [
    Case("arri-folder", ["A001R2EC/A001C001_231014_R2EC.mov", "A001R2EC/A001C002_231014_R2EC.mov",
                         "A001R2EC/A001C003_231014_R2EC.mov", "SDINFO.TXT"],
         "ARRI", "ALEXA", "camera", "A001", "A001R2EC", 3, "A001C001_231014_R2EC", "A001C003_231014_R2EC"),
    Case("arri-codex-root", ["A002C003_231015_R1AB.mxf", "A002C004_231015_R1AB.mxf"],
         "ARRI", "ALEXA", "camera", "A002", "A002R1AB", 2, "A002C003_231015_R1AB", "A002C004_231015_R1AB"),
    Case("arriraw", ARRIRAW, "ARRI", "ARRIRAW", "camera", "A003", "A003R1AB", 2,
         "A003C001_231014_R1AB", "A003C002_231014_R1AB"),
    Case("red", ["A001_0102XY.RDM/A001_C001_0102AB.RDC/A001_C001_0102AB_001.R3D",
                 "A001_0102XY.RDM/A001_C001_0102AB.RDC/A001_C001_0102AB_002.R3D",
                 "A001_0102XY.RDM/A001_C001_0102AB.RDC/A001_C001_0102AB.RMD",
                 "A001_0102XY.RDM/A001_C002_0102CD.RDC/A001_C002_0102CD_001.R3D"],
         "RED", "R3D", "camera", "A001", "A001_0102XY", 2, "A001_C001_0102AB", "A001_C002_0102CD"),
    Case("sony-venice", ["XDROOT/MEDIAPRO.XML", "XDROOT/General/", "XDROOT/Clip/B002C001_231014AB.MXF",
                         "XDROOT/Clip/B002C001_231014ABM01.XML", "XDROOT/Clip/B002C002_231014AB.MXF",
                         "XDROOT/Sub/B002C001_231014AB_Proxy.MXF"],
         "Sony", "XDROOT", "camera", "B002", "B002", 2, "B002C001_231014AB", "B002C002_231014AB"),
    Case("sony-m4root", ["PRIVATE/M4ROOT/CLIP/C0001.MP4", "PRIVATE/M4ROOT/CLIP/C0001M01.XML",
                         "PRIVATE/M4ROOT/CLIP/C0002.MP4", "PRIVATE/M4ROOT/CLIP/C0002M01.XML",
                         "PRIVATE/M4ROOT/THMBNL/C0001T01.JPG", "PRIVATE/M4ROOT/MEDIAPRO.XML",
                         "PRIVATE/M4ROOT/STATUS.BIN", "PRIVATE/M4ROOT/SUB/"],
         "Sony", "M4ROOT", "camera", None, None, 2, "C0001", "C0002"),
    Case("canon-xfavc", ["CONTENTS/CLIPS001/C004C001_231014AB_CANON.MXF",
                         "CONTENTS/CLIPS001/C004C001_231014AB_CANON.XML",
                         "CONTENTS/CLIPS001/C004C002_231014AB_CANON.MXF", "CONTENTS/CLIPS001/INDEX.MIF"],
         "Canon", "XF-AVC", "camera", "C004", "C004", 2, "C004C001_231014AB_CANON", "C004C002_231014AB_CANON"),
    Case("canon-crm", ["DCIM/100CANON/A001C001_231014AB_CANON.CRM", "DCIM/100CANON/A001C002_231014AB_CANON.CRM",
                       "DCIM/EOSMISC/M0001.CTG", "MISC/CANON.XML"],
         "Canon", "Cinema RAW Light", "camera", "A001", "A001", 2,
         "A001C001_231014AB_CANON", "A001C002_231014AB_CANON"),
    Case("blackmagic", ["A001_10141530_C001.braw", "A001_10141531_C002.braw", "A001_10141540_C003.braw"],
         "Blackmagic", "BRAW", "camera", "A001", "A001", 3, "A001_10141530_C001", "A001_10141540_C003"),
    Case("panasonic-p2", ["CONTENTS/VIDEO/0001AB.MXF", "CONTENTS/VIDEO/0002AB.MXF",
                          "CONTENTS/AUDIO/0001AB00.MXF", "CONTENTS/CLIP/0001AB.XML", "CONTENTS/CLIP/0002AB.XML",
                          "CONTENTS/ICON/0001AB.BMP", "CONTENTS/PROXY/", "LASTCLIP.TXT"],
         "Panasonic", "P2", "camera", None, None, 2, "0001AB", "0002AB"),
    Case("avchd", ["PRIVATE/AVCHD/BDMV/STREAM/00000.MTS", "PRIVATE/AVCHD/BDMV/STREAM/00001.MTS",
                   "PRIVATE/AVCHD/BDMV/CLIPINF/00000.CPI", "PRIVATE/AVCHD/BDMV/INDEX.BDM"],
         "AVCHD", "AVCHD", "camera", None, None, 2, "00000", "00001"),
    Case("dcim-stills", ["DCIM/100CANON/IMG_0001.CR3", "DCIM/100CANON/IMG_0002.CR3", "DCIM/100CANON/IMG_0002.JPG",
                         "MISC/"],
         "Canon", "DCIM stills", "stills", None, None, 2, "IMG_0001", "IMG_0002"),
    Case("gopro", ["DCIM/100GOPRO/GX010001.MP4", "DCIM/100GOPRO/GX010001.THM", "DCIM/100GOPRO/GX010001.LRV",
                   "DCIM/100GOPRO/GX010002.MP4", "MISC/version.txt"],
         "GoPro", "GoPro", "camera", None, None, 2, "GX010001", "GX010002"),
    Case("dji", ["DCIM/100MEDIA/DJI_0001.MP4", "DCIM/100MEDIA/DJI_0001.SRT", "DCIM/100MEDIA/DJI_0002.MP4",
                 "DCIM/100MEDIA/DJI_0003.JPG"],
         "DJI", "DJI", "camera", None, None, 3, "DJI_0001", "DJI_0003"),
    Case("sound-root", ["T001_231014_001.WAV", "T001_231014_002.WAV", "T001_231014_003.WAV",
                        "SOUND_REPORT.CSV"],
         "Sound recorder", "Broadcast WAV", "sound", None, None, 3, "T001_231014_001", "T001_231014_003"),
    Case("sound-dated", ["231014/1A-T01.WAV", "231014/1A-T02.WAV", "231014/231014.CSV", "231015/2B-T01.WAV",
                         "ZOOM_F8.SYS"],
         "Sound recorder", "Broadcast WAV", "sound", None, None, 3, "1A-T01", "2B-T01"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_recognises_every_family(tmp_path: Path, case: Case) -> None:
    root = tree(tmp_path / "card", case.paths)
    info = recognise(root)
    assert isinstance(info, CardInfo)
    assert info.vendor == case.vendor
    assert case.family_has in info.family
    assert info.media == case.media
    assert not info.generic
    assert info.reel == case.reel
    assert info.camera_letter == (case.reel[0] if case.reel else None)
    assert info.card_id == case.card_id
    assert (info.clip_count, info.first_clip, info.last_clip) == (case.clips, case.first, case.last)
    scan = scan_source(root)
    assert info.fingerprint == fingerprint(scan)
    assert info.file_count == len(scan.files)


def test_every_rule_has_a_family_test() -> None:
    tested = {recognise_rule for recognise_rule in _rules_hit()}
    assert {r.id for r in default_rules()} <= tested


def _rules_hit() -> set[str]:
    import tempfile

    hit = set()
    with tempfile.TemporaryDirectory() as d:
        for i, case in enumerate(CASES):
            hit.add(recognise(tree(Path(d) / str(i), case.paths)).rule)
    return hit


LOOKALIKES = {
    # a holiday folder: movies, but not named like any camera's clips
    "holiday-movies": ["holiday.mov", "beach 2.mov", "A001.mov", "A001_notes.mov"],
    # an XDROOT that holds no clips (a formatted Sony card)
    "empty-xdroot": ["XDROOT/MEDIAPRO.XML", "XDROOT/General/", "XDROOT/Clip/"],
    # a folder called .RDC with no R3D inside
    "rdc-without-r3d": ["A001_0102XY.RDM/A001_C001_0102AB.RDC/A001_C001_0102AB.RMD"],
    # R3D files lying loose, outside any RDM/RDC structure
    "loose-r3d": ["A001_C001_0102AB_001.R3D"],
    # P2-like tree without the CLIP metadata folder
    "p2-without-clip-xml": ["CONTENTS/VIDEO/0001AB.MXF"],
    # an M4ROOT without clips
    "m4root-thumbnails-only": ["PRIVATE/M4ROOT/THMBNL/C0001T01.JPG", "PRIVATE/M4ROOT/MEDIAPRO.XML"],
    # CRM files outside DCIM are not a Canon card layout
    "crm-at-root": ["A001C001_231014AB_CANON.CRM"],
    # documents next to one WAV: a WAV alone does not make a sound card
    "docs-with-one-wav": ["notes.txt", "budget.xlsx", "script.pdf", "callsheet.pdf", "temp.wav"],
    # ARRIRAW frames whose folder name does not match the clip
    "ari-wrong-folder": ["frames/A003C001_231014_R1AB.0000001.ari"],
    # a DCIM folder whose subfolder does not follow DCF (three digits + five characters)
    "dcim-not-dcf": ["DCIM/Photos/IMG_0001.JPG"],
    "empty-card": [],
}


@pytest.mark.parametrize("name", sorted(LOOKALIKES))
def test_lookalikes_are_generic_cards_not_errors(tmp_path: Path, name: str) -> None:
    root = tmp_path / "card"
    root.mkdir()
    tree(root, LOOKALIKES[name])
    info = recognise(root)
    assert info.generic, info
    assert info.vendor == "Unknown"
    assert info.clip_count == info.file_count


def test_generic_card_takes_the_reel_from_its_label_or_folder(tmp_path: Path) -> None:
    root = tree(tmp_path / "B007", ["clip1.mov"])
    assert recognise(root).reel == "B007"
    assert recognise(root, label="C012_CARD").reel == "C012"
    assert recognise(root, label="C012_CARD").label == "C012_CARD"


def test_m4root_takes_its_reel_from_the_volume_label(tmp_path: Path) -> None:
    root = tree(tmp_path / "card", ["PRIVATE/M4ROOT/CLIP/C0001.MP4"])
    info = recognise(root, label="B004")
    assert (info.reel, info.camera_letter, info.vendor) == ("B004", "B", "Sony")


def test_names_are_case_insensitive_and_system_files_ignored(tmp_path: Path) -> None:
    root = tree(tmp_path / "card", ["xdroot/clip/A001C001_231014ab.mxf", ".DS_Store", "._xdroot",
                                    ".Spotlight-V100/store.db"])
    info = recognise(root)
    assert info.vendor == "Sony" and info.reel == "A001"
    assert info.file_count == 1


def test_recognition_never_opens_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tree(tmp_path / "card", CASES[0].paths)
    default_rules()  # the rules file itself may be read
    opened: list[str] = []
    import builtins
    import io
    import os

    real_open, real_os_open, real_io_open = builtins.open, os.open, io.open

    def spy(path, *a, **k):  # type: ignore[no-untyped-def]
        opened.append(str(path))
        return real_open(path, *a, **k)

    def os_spy(path, *a, **k):  # type: ignore[no-untyped-def]
        opened.append(str(path))
        return real_os_open(path, *a, **k)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    monkeypatch.setattr(os, "open", os_spy)
    info = recognise(root)
    assert info.vendor == "ARRI"
    assert not [p for p in opened if p.startswith(str(root))], opened
    del real_io_open


def test_rules_are_data_a_new_camera_is_a_new_rule(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps({"rules": [{
        "id": "acme", "vendor": "Acme", "family": "Acme RAW", "media": "camera", "priority": 10,
        "clip": "^ACME/(?P<clip>(?P<camera>[A-Z])(?P<reel>\\d{3})_\\d{4})\\.acm$"}]}))
    root = tree(tmp_path / "card", ["ACME/D009_0001.acm", "ACME/D009_0002.acm"])
    info = recognise(root, rules=load_rules(rules_file))
    assert (info.vendor, info.reel, info.clip_count) == ("Acme", "D009", 2)
    assert recognise(root).generic


@pytest.mark.parametrize(("rule", "message"), [
    ({"id": "x", "vendor": "V", "family": "F", "media": "tape", "clip": "(?P<clip>x)"}, "'media' must be one of"),
    ({"id": "x", "vendor": "V", "family": "F", "media": "camera", "clip": "x"}, "named group (?P<clip>"),
    ({"id": "x", "vendor": "V", "family": "F", "media": "camera", "clip": "(?P<clip>["}, "not a valid regular"),
    ({"id": "x", "family": "F", "media": "camera", "clip": "(?P<clip>x)"}, "'vendor' must be non-empty text"),
])
def test_a_broken_rules_file_says_which_rule_and_field(tmp_path: Path, rule: dict, message: str) -> None:
    f = tmp_path / "rules.json"
    f.write_text(json.dumps({"rules": [rule]}))
    with pytest.raises(RulesError, match="rule x" if "id" in rule else "rule 1") as exc:
        load_rules(f)
    assert message in str(exc.value)


def _frames(n: int, per_clip: int = 1000) -> list:
    from datawrangler.core.scan import SourceFile

    out = []
    for i in range(n):
        clip = f"A001C{i // per_clip + 1:03d}_231014_R2EC"
        out.append(SourceFile(f"{clip}/{clip}.{i % per_clip:07d}.ari", 16_000 + i, 1_700_000_000_000_000_000 + i))
    return out


def test_the_fingerprint_of_a_scan_is_the_fingerprint_of_its_files_in_any_order() -> None:
    """The scan's packed list is fingerprinted a folder at a time (FileList.by_path); the fingerprint is the
    one of the same files sorted whole, so a card recorded before is recognised again."""
    import random

    from datawrangler.core.cards import fingerprint_files
    from datawrangler.core.scan import FileList

    files = _frames(5000, per_clip=700)
    shuffled = files[:]
    random.Random(7).shuffle(shuffled)
    assert fingerprint_files(FileList(shuffled)) == fingerprint_files(files) == fingerprint_files(shuffled)
    changed = files[:]
    changed[1234] = changed[1234]._replace(size=1)
    assert fingerprint_files(FileList(changed)) != fingerprint_files(files)


@pytest.mark.parametrize("kind", ["arriraw", "generic"])
def test_recognising_a_card_of_many_frames_does_not_hold_its_paths(kind: str) -> None:
    """Recognition and the fingerprint walk the scan's packed list: at 40,000 frames they hold a few bytes a
    frame (their own lists held about 300: a list of the paths, of their extensions and of every file's
    sorted triple, about 300 MB of a 1,000,000-file offload's peak), and still find what the card is."""
    import tracemalloc

    from datawrangler.core.scan import FileList, ScanResult, SourceFile

    files = _frames(40_000) if kind == "arriraw" else [SourceFile(f"DCIM/{i // 1000:03d}/F{i:06d}.BIN", 10, 1)
                                                       for i in range(40_000)]
    scan = ScanResult("/media/A001R2EC", FileList(files), [], [], sum(f.size for f in files))
    del files
    recognise("/media/A001R2EC", scan=scan)  # the rules loaded and compiled once, outside the measure
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        info = recognise("/media/A001R2EC", scan=scan)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert info.file_count == 40_000
    if kind == "arriraw":
        assert (info.vendor, info.clip_count, info.first_clip) == ("ARRI", 40, "A001C001_231014_R2EC")
    else:
        assert info.generic and (info.first_clip, info.last_clip) == ("F000000.BIN", "F039999.BIN")
    assert peak < 40 * 40_000, f"recognition held {peak / 40_000:.0f} bytes a file"
