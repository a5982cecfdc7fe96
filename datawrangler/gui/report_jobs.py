"""Reports for the window, through datawrangler.reports, on worker threads: build (from the catalog,
never from memory), render HTML for the preview, write PDF/CSV."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datawrangler.gui.jobs import open_db

KINDS = ("offload", "day", "redundancy", "contact_card", "contact_day")


@dataclass(frozen=True)
class ReportRequest:
    kind: str  # offload / day / redundancy / contact_card (the offload's card) / contact_day
    offload_id: int | None = None
    day: str = ""  # YYYY-MM-DD
    required: int = 2
    shooting_day: str | None = None


@dataclass(frozen=True)
class BuiltReport:
    request: ReportRequest
    report: Any  # datawrangler.reports.model.Report
    html: str
    stem: str  # a file name without extension
    folder: Path  # the app's reports folder for it


def available() -> str | None:
    """None, or why reports cannot be made in this installation."""
    try:
        import datawrangler.reports.html
        import datawrangler.reports.output  # noqa: F401
    except ImportError as exc:
        return f"Reports are not available in this installation ({exc})."
    return None


def build(catalog: str | os.PathLike[str] | None, req: ReportRequest) -> BuiltReport:
    from datawrangler.reports import contact, day, html, offload, output, redundancy
    from datawrangler.store.session import card_of

    db = open_db(catalog)
    report: Any
    try:
        if req.kind == "offload":
            if req.offload_id is None:
                raise ValueError("Choose an offload first: select it in History (or finish one in the queue).")
            report = offload.build(db, req.offload_id, required=req.required, with_files=True,
                                   shooting_day=req.shooting_day)
        elif req.kind == "contact_card":
            card = card_of(db, req.offload_id) if req.offload_id is not None else None
            if card is None:
                raise ValueError("Choose an offload of the card first: select it in History.")
            report = contact.for_card(db, str(card), required=req.required, shooting_day=req.shooting_day)
        elif req.kind == "contact_day":
            report = contact.for_day(db, req.day or dt.date.today().isoformat(), required=req.required,
                                     shooting_day=req.shooting_day)
        elif req.kind == "day":
            report = day.build(db, req.day or dt.date.today().isoformat(), required=req.required,
                               shooting_day=req.shooting_day)
        else:
            report = redundancy.build(db, required=req.required)
    finally:
        db.close()
    printable = report
    if req.kind == "offload":
        import dataclasses

        printable = dataclasses.replace(report, files=None)  # the per-file table goes to the CSV only
    return BuiltReport(req, report, html.render(printable), output.file_stem(report), output.reports_folder(report))


def save(built: BuiltReport, pdf: str | os.PathLike[str] | None = None,
         csv: str | os.PathLike[str] | None = None) -> list[str]:
    """Write the PDF (through Qt, on this worker) and/or the CSV; returns the files written."""
    from datawrangler.reports import output

    for p in (pdf, csv):
        if p is not None:
            Path(p).parent.mkdir(parents=True, exist_ok=True)
    return [str(p) for p in output.write(built.report, pdf=pdf, csv=csv, files_in_pdf=False)]
