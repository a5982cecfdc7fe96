"""The offload report step holds no row per file (issue 14: an offload of a million files must peak under
400 MB): write_offload_report streams the per-file CSV from the catalog's cursor, and that CSV is byte for
byte the one the report used to write from a table held whole."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from pathlib import Path

import pytest

from datawrangler.config import app_paths
from datawrangler.reports import csvout, offload
from datawrangler.reports.output import write_offload_report
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.reports.conftest import OffloadRunner, pdf_pages
from tests.reports.scenario import shoot_day


def _held_csv(catalog: Path, offload_id: int, target: Path) -> bytes:
    """The per-file CSV as the report wrote it before it streamed: the whole table built first."""
    db = open_catalog(catalog)
    try:
        report = offload.build(db, offload_id, required=2, with_files=True)
    finally:
        db.close()
    assert report.files is not None and len(report.files) == report.files_total
    csvout.write_csv(report, target)
    return target.read_bytes()


def test_streamed_file_csv_is_byte_identical_to_the_held_table(
        tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner,
        catalog: Path) -> None:
    shot = shoot_day(tmp_path, other_volume, make_card, run_offload)
    (tmp_path / "held").mkdir()
    # B001: two algorithms, a copy that failed on D1 (its code in the D1 column), a file verified on D2 only
    for oid in (shot.a001, shot.b001, shot.a002):
        held = _held_csv(catalog, oid, tmp_path / "held" / f"{oid}.csv")
        db = open_catalog(catalog)
        try:
            written = write_offload_report(db, oid, 2)
        finally:
            db.close()
        streamed = next(p for p in written if p.suffix == ".csv")
        assert streamed.read_bytes() == held, oid
    b001 = next((app_paths().reports_dir / dt.date.today().isoformat()).glob("offload-0002_*.pdf"))
    lines = _held_csv(catalog, shot.b001, tmp_path / "held" / "b.csv").decode().splitlines()
    assert lines[0] == "path,size,status,xxh64,md5,D1,D2,message"
    assert any(",failed: " in line for line in lines)  # the streamed table carries the failed copy's code
    assert "SDINFO.TXT" not in " ".join(pdf_pages(b001)[1:])  # the PDF lists no file table


def _card_of(n: int, make_card: CardBuilder, name: str) -> Path:
    return make_card({f"{name}/F{i:05d}.bin": 64 for i in range(n)}, name=name)


def _report_peak(catalog: Path, offload_id: int) -> int:
    """tracemalloc's peak (bytes) over write_offload_report, the catalog already open."""
    db = open_catalog(catalog)
    try:
        tracemalloc.start()
        try:
            write_offload_report(db, offload_id, 2)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        db.close()


@pytest.mark.slow
def test_report_memory_does_not_grow_a_row_per_file(
        tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner,
        catalog: Path) -> None:
    for d in ("d1", "d2"):
        (tmp_path / d).mkdir()
    small, _ = run_offload(_card_of(200, make_card, "S001"), [tmp_path / "d1", other_volume])
    big, _ = run_offload(_card_of(4_200, make_card, "S002"), [tmp_path / "d2", other_volume])
    _report_peak(catalog, small)  # the first report pays the one-off imports and caches
    grown = _report_peak(catalog, big) - _report_peak(catalog, small)
    # a held table cost ~1 KB a file (4 MB here); what remains is the clip count's list of paths (core.cards)
    print(f"write_offload_report: {grown / 4_000:.0f} bytes more per file")
    assert grown / 4_000 < 400, f"{grown / 4_000:.0f} bytes more per file"
