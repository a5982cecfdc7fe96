"""The window (PySide6 only). See app.main.

PySide6 6.12 on Python 3.11 gives back one reference too few to None on every call that returns None
(`widget.update()`, `label.setText()`, `QModelIndex.data()` for an empty role...) and to True/False on
signal emissions (`Signal(bool).emit`, `Signal(str).emit`): after some tens of thousands of such calls the
count reaches zero and the interpreter aborts ("none_dealloc", "bool_dealloc"). Python 3.12+ makes these
objects immortal, so the bug is harmless there; here they are made effectively immortal the same way, once,
before any Qt call (tests/gui/test_pyside_refcounts.py shows the leak). Remove when PySide6 is fixed or
Python 3.11 is dropped.
"""

from __future__ import annotations

import ctypes
import platform
import sys

_NONE_REFS = 1 << 60


def _keep_singletons_alive() -> None:
    if sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return
    for obj in (None, True, False):
        refcnt = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field of every object
        if refcnt.value < _NONE_REFS:
            refcnt.value += _NONE_REFS


_keep_singletons_alive()
