"""Dialogs. Each has an `ask()` classmethod returning (value, accepted), so tests replace it instead of
blocking on exec()."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from datawrangler.core.words import plural


class CrashDialog(QDialog):
    """A bug: what happened, the log, and where the log file is. The window stays usable after it."""

    def __init__(self, text: str, log_path: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("DataWrangler: internal error")
        self.resize(760, 480)
        head = QLabel("<b>Something went wrong inside DataWrangler.</b><br>This is a bug, not a problem with "
                      "your drives. Offloads that were verified stay verified; the catalog keeps what happened. "
                      "Please send the text below" + (f" and the log file <code>{log_path}</code>" if log_path
                                                       else "") + " to the developers.")
        head.setWordWrap(True)
        self.text = QPlainTextEdit(text)
        self.text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy text", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QApplication.clipboard().setText(text))
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(self.text)
        lay.addWidget(buttons)

    @classmethod
    def ask(cls, parent: QWidget | None, text: str, log_path: str = "") -> tuple[None, bool]:
        dlg = cls(text, log_path, parent)
        try:
            return None, dlg.exec() == QDialog.DialogCode.Accepted
        finally:
            dlg.deleteLater()


class ConfirmQuit(QDialog):
    """Offloads are running: quitting cancels them (they stay resumable). Stage-2 copies still waiting in the
    queue (their cards released, not safe to format) are said too: they start at the next start."""

    def __init__(self, running: int, parent: QWidget | None = None, waiting: int = 0) -> None:
        super().__init__(parent)
        self.setWindowTitle("Offloads are running" if running else "Stage-2 copies are waiting")
        text = (f"<b>{running} offload{'s are' if running != 1 else ' is'} still running.</b><br><br>"
                "Quitting cancels them. Nothing already verified is lost, and each can be resumed the "
                "next time DataWrangler starts. The cards are <b>not</b> safe to format until then.") if running else ""
        if waiting:
            many = waiting != 1
            text += ("<br><br>" if text else "") + (
                f"<b>{plural(waiting, 'stage-2 copy')} {'have' if many else 'has'} not started yet.</b> "
                f"{'Their cards were' if many else 'Its card was'} released but {'are' if many else 'is'} <b>not</b> "
                f"safe to format until stage 2 is verified; {'they start' if many else 'it starts'} the next time "
                "DataWrangler starts.")
        label = QLabel(text)
        label.setWordWrap(True)
        buttons = QDialogButtonBox()
        buttons.addButton("Keep running", QDialogButtonBox.ButtonRole.RejectRole)
        quit_btn = buttons.addButton("Cancel offloads and quit", QDialogButtonBox.ButtonRole.AcceptRole)
        quit_btn.setProperty("danger", True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(label)
        lay.addWidget(buttons)

    @classmethod
    def ask(cls, parent: QWidget | None, running: int, **waiting: int) -> tuple[bool, bool]:
        dlg = cls(running, parent, **waiting)
        try:
            ok = dlg.exec() == QDialog.DialogCode.Accepted
            return ok, ok
        finally:
            dlg.deleteLater()
