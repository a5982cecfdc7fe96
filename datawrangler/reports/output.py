"""Writing a report as files: PDF (Qt, imported only when a PDF is asked for), HTML, CSV; file names and
the app's reports folder."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from datawrangler.config import app_paths
from datawrangler.reports import csvout, fmt, html
from datawrangler.reports.model import ContactSheet, DayReport, FileRow, OffloadReport, Report


def file_stem(report: Report) -> str:
    """A name of [A-Za-z0-9._-] only: offload-0007_A001_2023-10-14_1530, day_2023-10-14, redundancy_…,
    contact_A001_2023-10-14 (a card's sheet, by its first day), contact_day_2023-10-14."""
    if isinstance(report, OffloadReport):
        start = dt.datetime.fromtimestamp(report.started_at).strftime("%Y-%m-%d_%H%M")
        name = report.card.reel or report.card.label or "card"
        return fmt.safe_name(f"offload-{report.offload_id:04d}_{name}_{start}")
    if isinstance(report, DayReport):
        return fmt.safe_name(f"day_{report.day}")
    if isinstance(report, ContactSheet):
        if report.scope == "day":
            return fmt.safe_name(f"contact_day_{report.day}")
        return fmt.safe_name(f"contact_{'_'.join(report.reels)}_{report.dates[0] if report.dates else ''}")
    return fmt.safe_name("redundancy_" + dt.datetime.fromtimestamp(report.meta.generated_at).strftime("%Y-%m-%d_%H%M"))


def reports_folder(report: Report) -> Path:
    """<reports folder>/<YYYY-MM-DD>: the day the offload started (or the day reported, or today)."""
    if isinstance(report, OffloadReport):
        day = fmt.day(report.started_at)
    elif isinstance(report, DayReport):
        day = report.day
    elif isinstance(report, ContactSheet) and (report.day or report.dates):
        day = report.day or report.dates[0]
    else:
        day = fmt.day(report.meta.generated_at)
    return app_paths().reports_dir / day


def write(report: Report, *, pdf: str | os.PathLike[str] | None = None,
          html_path: str | os.PathLike[str] | None = None, csv: str | os.PathLike[str] | None = None,
          files_in_pdf: bool = True, files: Iterable[FileRow] | None = None) -> list[Path]:
    """Write what is asked for; returns every file written. files_in_pdf=False leaves an offload report's
    per-file table out of the PDF and HTML (the CSV keeps it). `files`: the per-file rows streamed to the CSV
    (offload.iter_files) for a report built without them."""
    for target in (pdf, html_path, csv):
        if target is not None and not Path(target).parent.is_dir():
            raise FileNotFoundError(f"the folder {Path(target).parent} does not exist")
    written: list[Path] = []
    printable = report
    if isinstance(report, OffloadReport) and not files_in_pdf:
        printable = dataclasses.replace(report, files=None)
    if html_path is not None:
        target = Path(html_path)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(html.render(printable, standalone=True), encoding="utf-8")
        os.replace(tmp, target)
        written.append(target)
    if pdf is not None:
        from datawrangler.reports import pdf as qtpdf  # Qt only when a PDF is asked for

        text, images = html.render_for_pdf(printable)
        qtpdf.write_pdf(text, pdf, report.meta, images)
        written.append(Path(pdf))
    if csv is not None:
        written += csvout.write_csv(report, csv, files)
    return written


def write_offload_report(db: Any, offload_id: int, required: int, paper: str = "a4") -> list[Path]:
    """Offload OFFLOAD_ID's report, built from the catalog `db`, into the app's reports folder: the PDF (on
    `paper`: a4 or letter) and its CSVs (the per-file table; the clip table when the clips were read).
    Returns the files written; OSError when the folder cannot be written.

    The per-file table goes from the catalog's cursor straight to the CSV, a row at a time: the report of an
    offload of a million files holds no row for each (the PDF never lists the files)."""
    from datawrangler.reports import offload

    report = offload.build(db, offload_id, required=required, with_files=False, paper=paper)
    folder = reports_folder(report)
    stem = file_stem(report)
    folder.mkdir(parents=True, exist_ok=True)
    return write(report, pdf=folder / f"{stem}.pdf", csv=folder / f"{stem}.csv", files_in_pdf=False,
                 files=offload.iter_files(db, offload_id, report.algorithms))
