"""Clip thumbnails for the window: JPEG files beside the catalog, decoded off the GUI thread and kept in a
small cache.

A view asks for a thumbnail only for the rows it paints, so a card of 2,000 clips decodes the few dozen on
screen. `Thumbnails.get(path)` answers at once from the cache, or returns None and queues the path; the
queued paths go to the bridge in batches (one worker task per batch, started from the event loop, never
from inside a model's `data()`), are decoded there at the size the view shows them (a JPEG decoded at a
reduced scale costs a fraction of a full decode), and come back as `QImage`s: the GUI thread only turns
them into pixmaps and says `ready(path)`. A file that cannot be read is remembered with the reason, so it is
not read again on every repaint.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage, QImageReader, QPixmap

from datawrangler.gui.bridge import Bridge

BATCH = 24  # paths per worker task: a screenful of rows in one or two tasks


@dataclass(frozen=True)
class Loaded:
    """One path's result from a worker: the decoded image, or why there is none."""

    path: str
    image: QImage | None
    problem: str = ""


def load_image(path: str, width: int, height: int) -> Loaded:
    """Decode the image at `path` to fit width x height (aspect kept). Runs on a worker thread: QImage and
    QImageReader are reentrant, QPixmap is not (it is made on the GUI thread)."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and (size.width() > width or size.height() > height):
        reader.setScaledSize(size.scaled(width, height, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return Loaded(path, None, f"the thumbnail {path} cannot be read ({reader.errorString()})")
    return Loaded(path, image)


def load_batch(paths: Sequence[str], width: int, height: int,
               loader: Callable[[str, int, int], Loaded] = load_image) -> list[Loaded]:
    return [loader(p, width, height) for p in paths]


def _pixel_ratio() -> float:
    """Device pixels per logical pixel: a thumbnail decoded at that size stays sharp on a HiDPI screen."""
    app = QGuiApplication.instance()
    return max(1.0, app.devicePixelRatio()) if isinstance(app, QGuiApplication) else 1.0


class Thumbnails(QObject):
    """Pixmaps by file path, at most `capacity` of them (the least recently shown go first)."""

    ready = Signal(str)  # the path now has a pixmap, or a problem

    def __init__(self, bridge: Bridge, size: QSize, capacity: int = 400,
                 loader: Callable[[str, int, int], Loaded] = load_image, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge, self.size, self.capacity, self.loader = bridge, size, capacity, loader
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._problems: dict[str, str] = {}
        self._queued: list[str] = []
        self._asked: set[str] = set()  # queued or on a worker
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._flush)

    def get(self, path: str) -> QPixmap | None:
        """The pixmap if it is cached; otherwise None, and the path is loaded soon (once)."""
        pm = self._cache.get(path)
        if pm is not None:
            self._cache.move_to_end(path)
            return pm
        if path not in self._asked and path not in self._problems:
            self._asked.add(path)
            self._queued.append(path)
            if not self._timer.isActive():
                self._timer.start()
        return None

    def problem(self, path: str) -> str:
        """Why the thumbnail at `path` could not be shown ('' when it can, or is not read yet)."""
        return self._problems.get(path, "")

    @property
    def busy(self) -> bool:
        return bool(self._asked)

    def _flush(self) -> None:
        ratio = _pixel_ratio()
        w, h = round(self.size.width() * ratio), round(self.size.height() * ratio)
        while self._queued:
            batch, self._queued = self._queued[:BATCH], self._queued[BATCH:]
            self.bridge.run(load_batch, batch, w, h, self.loader, on_done=partial(self._loaded, ratio=ratio),
                            on_error=partial(self._failed, batch))

    def _loaded(self, got: list[Loaded], *, ratio: float) -> None:
        for item in got:
            self._asked.discard(item.path)
            if item.image is None:
                self._problems[item.path] = item.problem
            else:
                pm = QPixmap.fromImage(item.image)
                pm.setDevicePixelRatio(ratio)
                self._cache[item.path] = pm
                self._cache.move_to_end(item.path)
                while len(self._cache) > self.capacity:
                    self._cache.popitem(last=False)
            self.ready.emit(item.path)

    def _failed(self, batch: list[str], exc: BaseException) -> None:
        """Not a bad file (that is a Loaded with a problem): a bug. Said once, through the bridge."""
        for p in batch:
            self._asked.discard(p)
            self._problems[p] = f"the thumbnail could not be loaded ({type(exc).__name__}: {exc})"
            self.ready.emit(p)
        self.bridge.failed.emit(exc)
