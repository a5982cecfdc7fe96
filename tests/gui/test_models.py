"""Every model passes qtmodeltester, with rows in the states the window shows."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel

from datawrangler.app.drives import DriveInfo
from datawrangler.app.inspection import Inspection
from datawrangler.app.offload import run_offload
from datawrangler.app.request import OffloadRequest
from datawrangler.core.events import DestinationProgress, OffloadControl, ProgressEvent
from datawrangler.gui import catalog_reads as reads
from datawrangler.gui import jobs
from datawrangler.gui.bridge import SyncBridge
from datawrangler.gui.models.cards import CardRow, CardsModel
from datawrangler.gui.models.destinations import DestinationsModel, DestSpec
from datawrangler.gui.models.history import ChecksModel, FilesModel, HistoryModel
from datawrangler.gui.models.queue import QueueItem, QueueModel
from datawrangler.gui.theme import Status


def _info(path: str, **kw: object) -> Inspection:
    base = dict(path=path, label="A001R2EC", vendor="ARRI", reel="A001", camera="A", clips=3, files=4,
                bytes=8_000_120, fingerprint="f" * 64)
    base.update(kw)
    return Inspection(**base)  # type: ignore[arg-type]


def test_cards_model(qtmodeltester: object) -> None:
    m = CardsModel()
    m.append(CardRow("/media/A001R2EC"))
    for status in Status:
        m.append(CardRow(f"/media/{status.value}", status=status, info=_info(f"/media/{status.value}",
                 last_offload_at=time.time(), card_id=1), progress=0.4, copies=1))
    qtmodeltester.check(m)  # type: ignore[attr-defined]
    assert m.data(m.index(1, 4)) == "READING CARD…"
    texts = {m.data(m.index(i, 4)) for i in range(m.rowCount())}
    assert "SAFE TO FORMAT · 1 copy" in texts and "VERIFIED ON 1 · NOT SAFE" in texts
    m.update("/media/A001R2EC", status=Status.SAFE, copies=2)
    assert m.data(m.index(0, 4)).startswith("SAFE TO FORMAT")


def test_destinations_model_warns(qtmodeltester: object) -> None:
    m = DestinationsModel()
    m.set_specs((DestSpec("/a", "primary"), DestSpec("/b"), DestSpec("/c"), DestSpec("/d")))
    qtmodeltester.check(m)  # type: ignore[attr-defined]
    m.set_infos([DriveInfo("/a", True, 10, 100, "blk:8:0", "A"), DriveInfo("/b", True, 10, 100, "blk:8:0"),
                 DriveInfo("/c", False), DriveInfo("/d", True, 5, 100, "blk:8:16")])
    m.set_needed(8)
    qtmodeltester.check(m)  # type: ignore[attr-defined]
    w = [r.warning for r in m.rows]
    assert w[0].startswith("SAME DRIVE") and w[1].startswith("SAME DRIVE")
    assert w[2].startswith("MISSING")
    assert w[3].startswith("TOO SMALL")


def test_queue_model(qtmodeltester: object) -> None:
    m = QueueModel()
    req = OffloadRequest("/media/A001R2EC", ("/a", "/b"))
    m.append(QueueItem("A001R2EC", req, "/media/A001R2EC"))
    item = QueueItem("A002", req, "/media/A002", status=Status.COPYING, control=OffloadControl())
    item.event = ProgressEvent("copying", 10, 4, 1000, 400, 3000, 1200, "A002/C001.mov",
                               (DestinationProgress("/a/r", "writing", 400, 0), DestinationProgress("/b/r", "verifying",
                                                                                                   400, 200)),
                               100e6, 12.0, 3.0)
    m.append(item)
    qtmodeltester.check(m)  # type: ignore[attr-defined]
    assert m.data(m.index(1, 2)) == "40%"
    assert "write 40%" in m.data(m.index(1, 7)) and "verify 20%" in m.data(m.index(1, 7))
    assert m.overall() == (1, 0.4)


def _catalog_with_offloads(tmp_path: Path, make_card: object, dest_dirs: object, n: int) -> Path:
    from datawrangler.config import Settings
    from datawrangler.core.presets import Preset

    catalog = tmp_path / "catalog.sqlite"
    dests = dest_dirs(2)  # type: ignore[operator]
    for i in range(n):
        card = make_card({f"A00{i}C001_231014_R2EC.mov": 1000 + i, "SDINFO.TXT": 10}, name=f"A00{i}R2EC")  # type: ignore[operator]
        info = jobs.inspect(str(card), Settings(), Preset("t"), catalog)
        req = OffloadRequest(str(card), tuple(map(str, dests)), f"r{i}", reel=info.reel)
        run_offload(req, OffloadControl(), catalog=catalog)
    return catalog


def test_history_models_fetch_more(qtmodeltester: object, qtbot: object, tmp_path: Path, make_card: object,
                                   dest_dirs: object) -> None:
    catalog = _catalog_with_offloads(tmp_path, make_card, dest_dirs, 5)
    bridge = SyncBridge()
    m = HistoryModel(bridge, catalog, page=2)
    m.set_query(reads.HistoryQuery())
    qtbot.waitUntil(lambda: m.rowCount() == 2)  # type: ignore[attr-defined]
    assert m.canFetchMore()
    qtmodeltester.check(m)  # type: ignore[attr-defined]
    while m.canFetchMore():
        m.fetchMore()
    assert m.rowCount() == 5
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(m)
    qtmodeltester.check(proxy)  # type: ignore[attr-defined]
    m.set_query(reads.HistoryQuery(reel="A003"))
    qtbot.waitUntil(lambda: [r.reel for r in m.rows] == ["A003"])  # type: ignore[attr-defined]
    files = FilesModel(bridge, catalog, page=1)
    files.show_offload(m.row(0).id)
    qtbot.waitUntil(lambda: files.rowCount() == 1)  # type: ignore[attr-defined]
    while files.canFetchMore():
        files.fetchMore()
    assert files.rowCount() == 2
    qtmodeltester.check(files)  # type: ignore[attr-defined]
    checks = ChecksModel()
    checks.reset(reads.copy_history(catalog, files.row(0).id))
    assert [c.result for c in checks.rows] == ["verified", "verified"]
    assert all(c.method == "offload-readback" for c in checks.rows)
    qtmodeltester.check(checks)  # type: ignore[attr-defined]
    bridge.shutdown()


def test_history_bad_date_is_a_message_not_a_bug(qtbot: object, tmp_path: Path) -> None:
    errors: list[BaseException] = []
    m = HistoryModel(SyncBridge(), tmp_path / "c.sqlite")
    m.failed.connect(errors.append)
    m.set_query(reads.HistoryQuery(since="yesterday"))
    qtbot.waitUntil(lambda: bool(errors))  # type: ignore[attr-defined]
    assert m.rowCount() == 0 and isinstance(errors[0], ValueError) and "YYYY-MM-DD" in str(errors[0])
