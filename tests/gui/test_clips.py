"""The Clips tab: the clip list of a card (Cards) or an offload (History), on a real recorded offload whose
clips are recorded in the catalog as the clip step records them, with real JPEG thumbnails beside it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from datawrangler.app.offload import open_db, run_offload
from datawrangler.app.request import OffloadRequest
from datawrangler.config import Settings
from datawrangler.core.clips import ClipMeta, ClipState, group_clips
from datawrangler.core.events import OffloadControl
from datawrangler.core.presets import Preset
from datawrangler.gui import catalog_reads as reads
from datawrangler.gui import jobs
from datawrangler.gui.bridge import Bridge, SyncBridge
from datawrangler.gui.models.base import SortRole
from datawrangler.gui.models.clips import (
    AUDIO,
    DURATION,
    FILES,
    FORMAT,
    NAME,
    NOTES,
    RED_ON_DARK,
    RED_ON_LIGHT,
    TC_IN,
    TC_OUT,
    THUMB,
    THUMB_SIZE,
    ClipFilter,
    ClipsModel,
    FlaggedRole,
    flag_colour,
)
from datawrangler.gui.models.thumbs import Loaded, Thumbnails, load_image
from datawrangler.store import clips as store_clips
from datawrangler.store.clips import ClipRecord

DISPLAY, DECORATION, TOOLTIP, FOREGROUND = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole,
                                            Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole)

CARD_FILES = {
    "A001R2EC/A001C001_231014_R2EC.mov": 30_000,
    "A001R2EC/A001C002_231014_R2EC.mov": 50_000,
    "A001R2EC/A001C003_231014_R2EC.mov": 20_000,
    "A001R2EC/A001C005_231014_R2EC.mov": 25_000,
    **{f"DPX/A001C004.{n:07d}.dpx": 4_000 for n in (1, 2, 3, 5, 6, 9, 10)},  # 4, 7 and 8 missing
    "RED/A002_C001_0101AB_001.R3D": 40_000,
    "SOUND/S001T003.WAV": 8_000,
    "SDINFO.TXT": 120,
}
# what a reader found, per clip name (as media.read would record it)
METAS = {
    "A001C001_231014_R2EC": ClipMeta(container="mov", codec="ProRes 422 HQ", width=3840, height=2160, fps="24000/1001",
                                     duration=240 * 1001 / 24000, frames=240, tc_in="01:00:00:00", tc_out="01:00:09:23",
                                     reel="A001R2EC", camera="ALEXA 35", audio_channels=2),
    # 50 fps: 10.8 s at TC 10:00:00:40 (as text, after C005's 10:00:00:23; as time, before it)
    "A001C002_231014_R2EC": ClipMeta(container="mov", codec="H.264", width=1920, height=1080, fps="50", duration=10.8,
                                     frames=540, tc_in="10:00:00:40", tc_out="10:00:11:29", audio_channels=0),
    "A001C003_231014_R2EC": ClipMeta(state=ClipState.DAMAGED, container="mov", problems=(
        "the container cannot be opened (moov atom not found)", "its size says 12 s, its header 0 s")),
    # 24 fps: 10.958 s at TC 10:00:00:23
    "A001C005_231014_R2EC": ClipMeta(container="mov", codec="ProRes 4444", width=4096, height=2160, fps="24",
                                     duration=263 / 24, frames=263, tc_in="10:00:00:23", tc_out="10:00:11:21",
                                     audio_channels=4),
    "A001C004": ClipMeta(container="dpx", codec="DPX 10-bit", width=2048, height=1080, fps="24", tc_in="02:00:00:00"),
    "A002_C001_0101AB_001": ClipMeta(state=ClipState.NOT_READ, container="r3d"),
    "S001T003": ClipMeta(container="wav", codec="PCM 24-bit", duration=95.0, tc_in="14:03:10:05", sample_rate=48000,
                         bit_depth=24, audio_channels=6, scene="12A", take="3", tape="S001",
                         tracks=("Mix", "Boom", "Lav1")),
}
COLOURS = {"A001C001_231014_R2EC": (200, 30, 30), "A001C002_231014_R2EC": (30, 160, 40),
           "A001C005_231014_R2EC": (30, 60, 200), "A001C004": (220, 200, 40)}


@dataclass
class Shot:
    catalog: Path
    card: Path
    offload_id: int
    dests: list[Path]


def offload(catalog: Path, card: Path, dests: list[Path]) -> int:
    """A real offload of `card` into `dests`, recorded in `catalog`; its clips are not read (the test records
    them, as the clip step would)."""
    info = jobs.inspect(str(card), Settings(), Preset("t"), catalog)
    req = OffloadRequest(str(card), tuple(map(str, dests)), card.name, reel=info.reel, clips=None, report=False,
                         handoff=None)
    out = run_offload(req, OffloadControl(), catalog=catalog)
    assert out.result.files_verified == out.result.files_total > 0
    return out.offload_id


def record(catalog: Path, offload_id: int, metas: dict[str, ClipMeta] = METAS, thumbs: bool = True) -> None:
    """The offload's files grouped into clips (core.clips), each with its metadata and a real JPEG thumbnail
    (Pillow) under the catalog's thumbnails folder."""
    db = open_db(catalog)
    try:
        root = store_clips.thumbnails_root(db)
        assert root is not None
        records = []
        for g in group_clips(store_clips.offload_file_paths(db, offload_id)):
            rel: tuple[str, ...] = ()
            if thumbs and g.name in COLOURS:
                rel = (f"o{offload_id}/{g.name}.jpg",)
                (root / rel[0]).parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (320, 180), COLOURS[g.name]).save(root / rel[0], "JPEG", quality=90)
            records.append(ClipRecord(g, metas[g.name], rel))
        store_clips.record_clips(db, offload_id, records)
    finally:
        db.close()


@pytest.fixture
def shot(tmp_path: Path, make_card: Callable, dest_dirs: Callable) -> Shot:
    catalog = tmp_path / "catalog.sqlite"
    card = make_card(CARD_FILES, name="A001R2EC")
    dests = dest_dirs(2)
    oid = offload(catalog, card, dests)
    record(catalog, oid)
    return Shot(catalog, card, oid, dests)


def _col(model: ClipsModel | ClipFilter, name: str, column: int, role: int = DISPLAY) -> object:
    for i in range(model.rowCount()):
        if model.index(i, NAME).data() == name:
            return model.index(i, column).data(role)
    raise AssertionError(f"no row {name}")


def _model(shot: Shot, bridge: Bridge | None = None) -> ClipsModel:
    m = ClipsModel(bridge or SyncBridge())
    m.set_list(reads.offload_clip_list(shot.catalog, shot.offload_id))
    return m


def test_rows_match_the_catalog(qtmodeltester: object, shot: Shot) -> None:
    m = _model(shot)
    qtmodeltester.check(m)  # type: ignore[attr-defined]
    proxy = ClipFilter()
    proxy.setSourceModel(m)
    qtmodeltester.check(proxy)  # type: ignore[attr-defined]
    db = open_db(shot.catalog)
    try:
        catalog = store_clips.offload_clips(db, shot.offload_id)
    finally:
        db.close()
    assert [m.index(i, NAME).data() for i in range(m.rowCount())] == [c.name for c in catalog]
    assert len(catalog) == 7
    c1 = "A001C001_231014_R2EC"
    assert _col(m, c1, DURATION) == "00:00:10:00"  # 240 frames at 23.976: ten timecode seconds
    assert (_col(m, c1, TC_IN), _col(m, c1, TC_OUT)) == ("01:00:00:00", "01:00:09:23")
    assert _col(m, c1, FORMAT) == "ProRes 422 HQ · 3840×2160 · 23.976 fps"
    assert _col(m, c1, AUDIO) == "2 ch"
    assert _col(m, "A001C002_231014_R2EC", AUDIO) == "none"
    assert _col(m, "A001C004", FILES) == "7 frames"
    assert _col(m, "S001T003", FORMAT) == "PCM 24-bit · 48 kHz"
    assert _col(m, "S001T003", NOTES) == "scene 12A · take 3 · sound roll S001"
    assert _col(m, "S001T003", DURATION) == "00:01:35"  # no frame rate: seconds
    tip = str(_col(m, "S001T003", NAME, TOOLTIP))
    assert "tracks: Mix, Boom, Lav1" in tip


def test_flagged_rows_are_red_with_words_not_read_is_plain(qtbot: object, shot: Shot) -> None:
    m = _model(shot)
    flagged = {m.index(i, NAME).data(): m.index(i, NAME).data(FlaggedRole) for i in range(m.rowCount())}
    assert flagged == {"A001C001_231014_R2EC": False, "A001C002_231014_R2EC": False, "A001C003_231014_R2EC": True,
                       "A001C004": True, "A001C005_231014_R2EC": False, "A002_C001_0101AB_001": False,
                       "S001T003": False}
    assert _col(m, "A001C004", NOTES) == "frames 4, 7-8 missing"
    assert _col(m, "A001C003_231014_R2EC", NOTES) == \
        "POSSIBLY DAMAGED: the container cannot be opened (moov atom not found) (+1 more)"
    tip = str(_col(m, "A001C003_231014_R2EC", NOTES, TOOLTIP))
    assert "POSSIBLY DAMAGED: the container cannot be opened (moov atom not found)" in tip
    assert "POSSIBLY DAMAGED: its size says 12 s, its header 0 s" in tip  # every problem, in the tooltip
    assert "frames 1–10" in str(_col(m, "A001C004", NAME, TOOLTIP))
    red = flag_colour()
    for name in ("A001C003_231014_R2EC", "A001C004"):
        assert _col(m, name, NAME, FOREGROUND) == red and _col(m, name, NOTES, FOREGROUND) == red
    # a format no open library reads is not damage: said plainly, never red
    assert str(_col(m, "A002_C001_0101AB_001", NOTES)).startswith("metadata not read")
    assert _col(m, "A002_C001_0101AB_001", NOTES, FOREGROUND) is None
    assert _col(m, "A002_C001_0101AB_001", NAME, FOREGROUND) is None


def test_red_is_legible_on_dark_and_light_themes() -> None:
    dark, light = QPalette(), QPalette()
    dark.setColor(QPalette.ColorRole.Base, QColor("#1c1f23"))
    light.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
    assert flag_colour(dark).name() == RED_ON_DARK and flag_colour(light).name() == RED_ON_LIGHT

    def contrast(a: QColor, b: QColor) -> float:
        def lum(c: QColor) -> float:
            ch = [x / 255 for x in (c.red(), c.green(), c.blue())]
            lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in ch]
            return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
        hi, lo = sorted((lum(a), lum(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    assert contrast(flag_colour(dark), QColor("#1c1f23")) >= 4.5
    assert contrast(flag_colour(dark), QColor("#22262b")) >= 4.5  # the alternate rows
    assert contrast(flag_colour(light), QColor("#ffffff")) >= 4.5


def test_duration_and_timecode_sort_as_time_not_text(shot: Shot) -> None:
    m = _model(shot)
    proxy = ClipFilter()
    proxy.setSourceModel(m)
    names = lambda: [proxy.index(i, NAME).data() for i in range(proxy.rowCount())]  # noqa: E731
    proxy.sort(DURATION, Qt.SortOrder.AscendingOrder)
    # C002 (10.8 s, '00:00:10:40' at 50 fps) before C005 (10.958 s, '00:00:10:23' at 24 fps): text says the
    # opposite; clips without a duration first, the 95 s sound file last
    order = names()
    assert order.index("A001C002_231014_R2EC") < order.index("A001C005_231014_R2EC")
    assert order[-1] == "S001T003"
    assert set(order[:2]) == {"A001C003_231014_R2EC", "A002_C001_0101AB_001"}
    texts = sorted(str(_col(m, n, DURATION)) for n in ("A001C002_231014_R2EC", "A001C005_231014_R2EC"))
    assert texts == ["00:00:10:23", "00:00:10:40"]  # what a text sort would have done
    assert all(isinstance(m.index(i, DURATION).data(SortRole), float) for i in range(m.rowCount()))
    proxy.sort(TC_IN, Qt.SortOrder.AscendingOrder)
    order = names()
    assert order.index("A001C002_231014_R2EC") < order.index("A001C005_231014_R2EC")  # 10:00:00.8 < 10:00:00.958
    assert order.index("A001C001_231014_R2EC") < order.index("A001C004") < order.index("A001C002_231014_R2EC")
    assert order[-1] == "S001T003"  # 14:03
    proxy.sort(NOTES, Qt.SortOrder.AscendingOrder)
    assert set(names()[:2]) == {"A001C003_231014_R2EC", "A001C004"}  # flagged clips first


def test_search_filters_on_name_reel_codec_scene_take(shot: Shot) -> None:
    m = _model(shot)
    proxy = ClipFilter()
    proxy.setSourceModel(m)
    names = lambda: sorted(proxy.index(i, NAME).data() for i in range(proxy.rowCount()))  # noqa: E731
    proxy.set_search("prores")
    assert names() == ["A001C001_231014_R2EC", "A001C005_231014_R2EC"]
    proxy.set_search("12a")  # the scene
    assert names() == ["S001T003"]
    proxy.set_search("C002 h.264")  # every word, any order
    assert names() == ["A001C002_231014_R2EC"]
    proxy.set_search("A001R2EC alexa")  # the reel the container carries, the camera
    assert names() == ["A001C001_231014_R2EC"]
    proxy.set_search("prores 12a")
    assert names() == []
    proxy.set_search("  ")
    assert proxy.rowCount() == 7


def test_thumbnails_load_off_the_gui_thread_and_are_cached(qtbot: object, shot: Shot) -> None:
    gate = threading.Event()
    threads: list[str] = []
    calls: list[str] = []

    def slow(path: str, w: int, h: int) -> Loaded:
        threads.append(threading.current_thread().name)
        calls.append(path)
        assert gate.wait(20), "the test never opened the gate"
        return load_image(path, w, h)

    bridge = Bridge()
    try:
        m = ClipsModel(bridge, thumbnails=Thumbnails(bridge, THUMB_SIZE, loader=slow))
        m.set_list(reads.offload_clip_list(shot.catalog, shot.offload_id))
        row = next(i for i in range(m.rowCount()) if m.index(i, NAME).data() == "A001C001_231014_R2EC")
        idx = m.index(row, THUMB)
        assert idx.data(DECORATION) is None  # answered at once: the GUI thread does not wait for the file
        qtbot.waitUntil(lambda: bool(calls))  # type: ignore[attr-defined]
        qtbot.wait(100)  # type: ignore[attr-defined]  # the loop keeps running while the worker is held
        assert idx.data(DECORATION) is None
        changed: list[QModelIndex] = []
        m.dataChanged.connect(lambda a, _b, _r: changed.append(a))
        gate.set()
        qtbot.waitUntil(lambda: isinstance(idx.data(DECORATION), QPixmap))  # type: ignore[attr-defined]
        pm = idx.data(DECORATION)
        assert not pm.isNull() and any(c.row() == row for c in changed)
        assert pm.width() / pm.devicePixelRatio() <= THUMB_SIZE.width()
        r, g, b, _ = pm.toImage().pixelColor(pm.width() // 2, pm.height() // 2).getRgb()
        assert abs(r - 200) < 12 and g < 45 and b < 45  # the JPEG's red, decoded
        assert threads and all(t.startswith("dw-query") for t in threads)
        assert threading.current_thread() is threading.main_thread()
        n = len(calls)
        assert isinstance(idx.data(DECORATION), QPixmap)
        qtbot.wait(50)  # type: ignore[attr-defined]
        assert len(calls) == n  # from the cache: not read again
        # a sound file has no thumbnail: no decoration, nothing asked
        wav = next(i for i in range(m.rowCount()) if m.index(i, NAME).data() == "S001T003")
        assert m.index(wav, THUMB).data(DECORATION) is None
    finally:
        assert bridge.shutdown(10_000)


def test_a_thumbnail_that_cannot_be_read_is_said_in_the_tooltip(qtbot: object, shot: Shot) -> None:
    db = open_db(shot.catalog)
    root = store_clips.thumbnails_root(db)
    db.close()
    assert root is not None
    (root / f"o{shot.offload_id}/A001C005_231014_R2EC.jpg").write_bytes(b"not a jpeg")
    m = _model(shot)
    row = next(i for i in range(m.rowCount()) if m.index(i, NAME).data() == "A001C005_231014_R2EC")
    assert m.index(row, THUMB).data(DECORATION) is None
    qtbot.waitUntil(lambda: "cannot be read" in str(m.index(row, THUMB).data(TOOLTIP)))  # type: ignore[attr-defined]
    assert m.index(row, THUMB).data(DECORATION) is None


def test_latest_read_of_a_card_offloaded_twice(tmp_path: Path, make_card: Callable, dest_dirs: Callable) -> None:
    catalog = tmp_path / "catalog.sqlite"
    card = make_card(CARD_FILES, name="A001R2EC")
    first = offload(catalog, card, dest_dirs(2))
    record(catalog, first)
    again = tmp_path / "again"
    again.mkdir()
    second = offload(catalog, card, [again])
    later = dict(METAS, A001C003_231014_R2EC=ClipMeta(container="mov", codec="ProRes 422", fps="25", frames=300))
    record(catalog, second, later)
    db = open_db(catalog)
    card_id = store_clips.offload_clips(db, second)[0].card_id
    db.close()
    got = reads.card_clip_list(catalog, card_id)
    assert got.offloads == (first, second)
    assert len(got.clips) == 7  # one row per clip, not one per read
    c3 = next(c for c in got.clips if c.name == "A001C003_231014_R2EC")
    assert c3.offload_id == second and not c3.flagged
    # the card known only by the offload the window just made finds the same list
    assert reads.card_clip_list(catalog, None, second).clips == got.clips


def test_selecting_a_card_in_the_window_lists_its_clips(env: Callable, profile_with: Callable, shot: Shot,
                                                        qtbot: object) -> None:
    e = env(profile_with(shot.dests))
    w = e.window
    panel = w.clips
    assert not panel.empty.isHidden() and panel.view.isHidden() and "Select a card" in panel.empty.text()
    e.controller.add_source(str(shot.card))
    e.wait(lambda: e.card(shot.card) is not None and e.card(shot.card).info is not None)
    view = w.cards.view
    view.selectRow(0)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,  # type: ignore[attr-defined]
                     pos=view.visualRect(view.model().index(0, 0)).center())
    assert w.tabs.currentWidget() is panel
    assert w.tabs.tabText(w.tabs.indexOf(panel)) == "Clips · A001R2EC"
    e.wait(lambda: panel.proxy.rowCount() == 7)
    assert panel.view.isVisible() and not panel.empty.isVisible()
    assert sorted(panel.shown_names()) == sorted(METAS)
    assert panel.summary.text().startswith("7 clips · running time 0:02:07 · 2 flagged · metadata not read for 1")
    panel.search.setText("prores")
    assert panel.proxy.rowCount() == 2 and panel.summary.text().endswith("2 shown")
    panel.search.setText("nothing-like-this")
    assert "no clip matches “nothing-like-this”" in panel.summary.text()
    panel.search.clear()
    # the thumbnails arrive in the visible rows
    e.wait(lambda: sum(isinstance(panel.proxy.index(i, THUMB).data(DECORATION), QPixmap)
                       for i in range(panel.proxy.rowCount())) == len(COLOURS))


def test_empty_states_say_why(env: Callable, profile_with: Callable, make_card: Callable, dest_dirs: Callable,
                              tmp_path: Path, qtbot: object) -> None:
    catalog = tmp_path / "catalog.sqlite"
    dests = dest_dirs(2)
    unread = make_card({"B001R3FD/B001C001_231014_R3FD.mov": 10_000}, name="B001R3FD")
    oid = offload(catalog, unread, dests)  # clips not read
    fresh = make_card({"C001R4GE/C001C001_231014_R4GE.mov": 10_000}, name="C001R4GE")
    e = env(profile_with(dests))
    panel = e.window.clips
    for card in (unread, fresh):
        e.controller.add_source(str(card))
    e.wait(lambda: all(e.card(c) is not None and e.card(c).info is not None for c in (unread, fresh)))
    rows = {e.controller.cards.row(i).label: i for i in range(e.controller.cards.rowCount())}
    e.window.cards.view.selectRow(rows["B001R3FD"])
    e.wait(lambda: "No clips of B001R3FD" in panel.empty.text())
    assert f"datawrangler clips {oid} --read" in panel.empty.text()
    e.window.tabs.setCurrentWidget(panel)
    assert panel.empty.isVisible() and not panel.view.isVisible()
    e.window.cards.view.selectRow(rows["C001R4GE"])
    assert "C001R4GE has not been offloaded yet" in panel.empty.text()
    # History: the offload's clips once they are recorded, the same sentence before
    record(catalog, oid, {"B001C001_231014_R3FD": METAS["A001C002_231014_R2EC"]}, thumbs=False)
    h = e.window.history
    h.apply()
    e.wait(lambda: h.model.rowCount() == 1 and not h.model.loading)
    h.view.selectRow(0)
    e.wait(lambda: panel.shown_names() == ["B001C001_231014_R3FD"])
    assert panel.subject is not None and panel.subject.offload_id == oid
    assert panel.title.text() == f"B001 · offload {oid}", panel.title.text()
    QApplication.processEvents()


def test_a_new_card_offloaded_in_the_window_lists_through_its_offload(env: Callable, profile_with: Callable,
                                                                      make_card: Callable, dest_dirs: Callable,
                                                                      tmp_path: Path) -> None:
    """A new card has no catalog id when it is inspected: once the window has offloaded it, its clips are
    found through the queue's offload, and listed again when the offload ends (history_changed)."""
    card = make_card(CARD_FILES, name="A001R2EC")
    e = env(profile_with(dest_dirs(2), clips=False))  # the test records the clips itself
    panel = e.window.clips
    e.controller.add_source(str(card))
    e.wait(lambda: e.card(card) is not None and e.card(card).info is not None)
    assert e.card(card).info.card_id is None
    e.window.cards.view.selectRow(0)
    assert "A001R2EC has not been offloaded yet" in panel.empty.text()
    item = e.controller.enqueue(str(card))
    e.wait(lambda: item.offload_id is not None and not item.running and item.outcome is not None)
    e.wait(lambda: f"datawrangler clips {item.offload_id} --read" in panel.empty.text())
    record(e.catalog, item.offload_id)
    e.controller.history_changed.emit()
    e.wait(lambda: panel.proxy.rowCount() == 7)
    assert e.card(card).info.card_id is None  # found through the offload, not the inspection
    assert "2 flagged" in panel.summary.text()
