"""Real catalogs for report tests: real offloads (the engine and the store's recorder, as the CLI runs
them) into tmp_path, and the text of a PDF page by page."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from pypdf import PdfReader

from datawrangler.core.cards import default_reel, fingerprint
from datawrangler.core.events import OffloadResult
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import scan_source
from datawrangler.core.transfer import offload
from datawrangler.store import cards, offloads
from datawrangler.store.db import open_catalog
from datawrangler.store.offloads import OffloadMeta
from datawrangler.store.recorder import Recorder
from tests.store.conftest import other_volume

__all__ = ["OffloadRunner", "other_volume", "pdf_pages"]

OffloadRunner = Callable[..., tuple[int, OffloadResult]]


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    return tmp_path / "catalog.sqlite"


@pytest.fixture
def run_offload(catalog: Path) -> OffloadRunner:
    """run_offload(card, [dest roots], project=, camera=, operator=, algorithms=, verify=) -> (id, result)."""

    def run(source: Path, dests: Sequence[Path], *, project: str | None = "Night Train", camera: str | None = None,
            operator: str | None = "Dana DIT", algorithms: str = "xxh64", verify: str = "full",
            reel: str | None = None) -> tuple[int, OffloadResult]:
        plan = OffloadPlan.create(source, dests, algorithms=algorithms, verify_mode=verify)
        db = open_catalog(catalog)
        try:
            scan = scan_source(plan.source, plan.ignore)
            fp = fingerprint(scan)
            reel = reel or default_reel(plan.source)
            known = cards.find_known(db, fp, reel, scan.files)
            meta = OffloadMeta(project=project, reel=reel, camera=camera, operator=operator,
                               lineage=known.lineage if known else None)
            record = offloads.begin_offload(db, plan, scan, fp, meta)
            recorder = Recorder(catalog, record, plan.verify_mode)
            recorder.start()
            result = offload(plan, on_file=recorder.on_file, scan=scan, check=False)
            recorder.finish(result)
            return record.offload_id, result
        finally:
            db.close()

    return run


def pdf_pages(path: Path) -> list[str]:
    """The text of each page (pdftotext -layout where installed: table rows stay on one line)."""
    exe = shutil.which("pdftotext")
    if exe:
        out = subprocess.run([exe, "-layout", "-enc", "UTF-8", os.fspath(path), "-"], capture_output=True,
                             check=True).stdout.decode("utf-8")
        pages = out.split("\f")
        return pages[:-1] if pages and not pages[-1].strip() else pages
    return [p.extract_text() or "" for p in PdfReader(path).pages]
