"""Reports: preview, print, save PDF or CSV, for one offload (a card), a day, or redundancy."""

from __future__ import annotations

import datetime as dt
import os

from PySide6.QtCore import QDate
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from datawrangler.gui import report_jobs
from datawrangler.gui.controller import Controller
from datawrangler.gui.widgets.panels import button

LABELS = {"offload": "One card (offload)", "day": "A day", "redundancy": "Redundancy (every card)",
          "contact_card": "Contact sheet: the offload's card", "contact_day": "Contact sheet: a day"}


class ReportsTab(QWidget):
    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.c = controller
        self.built: report_jobs.BuiltReport | None = None
        self.saved: list[str] = []
        self.kind = QComboBox()
        for k in report_jobs.KINDS:
            self.kind.addItem(LABELS[k], k)
        self.offload = QSpinBox()
        self.offload.setRange(0, 10**9)
        self.offload.setPrefix("offload ")
        self.offload.setSpecialValueText("offload: select in History")
        self.day = QDateEdit(QDate.currentDate())
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("yyyy-MM-dd")
        self.preview_btn = button("Preview", primary=True)
        self.print_btn = button("Print…")
        self.pdf_btn = button("Save PDF…")
        self.csv_btn = button("Save CSV…")
        self.status = QLabel()
        self.status.setProperty("role", "hint")
        self.status.setWordWrap(True)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        row = QHBoxLayout()
        for w in (self.kind, self.offload, self.day, self.preview_btn, self.print_btn, self.pdf_btn, self.csv_btn):
            row.addWidget(w)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(self.browser, 1)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.preview_btn.clicked.connect(self.preview)
        self.print_btn.clicked.connect(self.print_)
        self.pdf_btn.clicked.connect(lambda: self._save_as("pdf"))
        self.csv_btn.clicked.connect(lambda: self._save_as("csv"))
        controller.offload_ended.connect(self._offload_ended)
        why = report_jobs.available()
        if why:
            self.status.setText(why)
            for b in (self.preview_btn, self.print_btn, self.pdf_btn, self.csv_btn):
                b.setEnabled(False)
        self._kind_changed()

    def set_offload(self, offload_id: int) -> None:
        self.offload.setValue(offload_id)

    def _offload_ended(self, item: object) -> None:
        oid = getattr(item, "offload_id", None)
        if oid:
            self.set_offload(oid)

    def _kind_changed(self) -> None:
        k = self.kind.currentData()
        self.offload.setVisible(k in ("offload", "contact_card"))
        self.day.setVisible(k in ("day", "contact_day"))
        self.built = None
        self._buttons()

    def _buttons(self) -> None:
        ok = report_jobs.available() is None
        for b in (self.print_btn, self.pdf_btn, self.csv_btn):
            b.setEnabled(ok and self.built is not None)

    def request(self) -> report_jobs.ReportRequest:
        day = self.c.preset.day
        return report_jobs.ReportRequest(self.kind.currentData(), self.offload.value() or None,
                                         self.day.date().toString("yyyy-MM-dd"), self.c.preset.copies_required,
                                         str(day) if day else None)

    def preview(self, then: object = None) -> None:
        self.status.setText("Building the report from the catalog…")
        self.c.bridge.run(report_jobs.build, self.c.catalog, self.request(),
                          on_done=lambda b: self._built(b, then), on_error=self._failed)

    def _built(self, built: report_jobs.BuiltReport, then: object = None) -> None:
        self.built = built
        self.browser.setHtml(built.html)
        self.status.setText(f"{LABELS[built.request.kind]}: {built.stem}")
        self._buttons()
        if callable(then):
            then()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, ValueError | LookupError):
            self.status.setText(str(exc))
        else:
            self.status.setText("The report could not be made.")
            self.c.messages.exception(exc, "Report")

    def save(self, pdf: str | None = None, csv: str | None = None) -> None:
        """Write the previewed report (building it first if needed)."""
        if self.built is None:
            self.preview(then=lambda: self.save(pdf, csv))
            return
        self.status.setText("Writing…")
        self.c.bridge.run(report_jobs.save, self.built, pdf, csv, on_done=self._saved, on_error=self._failed,
                          qt=pdf is not None)

    def _saved(self, paths: list[str]) -> None:
        self.saved += paths
        self.status.setText("Saved: " + ", ".join(paths))
        self.c.messages.success(f"Report saved: {paths[0]}" + (f" (+{len(paths) - 1} more)" if len(paths) > 1
                                                                else ""))

    def _save_as(self, ext: str) -> None:
        if self.built is None:
            return
        default = os.path.join(str(self.built.folder), f"{self.built.stem}.{ext}")
        path, _ = QFileDialog.getSaveFileName(self, f"Save the report as {ext.upper()}", default,
                                              f"{ext.upper()} (*.{ext})")
        if path:
            self.save(**{ext: path})

    def print_(self) -> None:
        if self.built is None:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(self.built.stem or f"report-{dt.date.today()}")
        dlg = QPrintDialog(printer, self)
        if dlg.exec() == QPrintDialog.DialogCode.Accepted:
            self.browser.document().print_(printer)
        dlg.deleteLater()
