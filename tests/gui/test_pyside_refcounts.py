"""PySide6 6.12.0 on Python 3.11 gives back one reference too few to None on every call that returns None
and to True/False on signal emissions, until the interpreter aborts ("none_dealloc"). pyproject pins
PySide6 below 6.12; this test fails if an installed PySide6 leaks those references again."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel


class _Emitter(QObject):
    flag = Signal(bool)


def test_pyside_keeps_none_and_bool_reference_counts(qtbot: object) -> None:
    label = QLabel("x")
    qtbot.addWidget(label)  # type: ignore[attr-defined]
    e = _Emitter()
    e.flag.connect(lambda v: None)
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(20_000):
        label.setText("y")
        e.flag.emit(True)
    after = sys.getrefcount(None), sys.getrefcount(True)
    # a leaking build loses 20,000 of each; a few references may come and go with garbage collection
    assert after[0] > before[0] - 1000 and after[1] > before[1] - 1000, (before, after)
