"""Draw the app icon with Qt (offscreen) and write every file the bundles and the desktop entry need.

    .venv/bin/python packaging/make_icons.py        # rewrites packaging/icons/, commit the result

The motif is the window's own icon (datawrangler.gui.theme.app_icon): a blue rounded square with a white
double check ("every copy verified"), redrawn here with a soft gradient so the big sizes are not flat.
Written:
  datawrangler-<N>.png  N = 16 ... 1024: the Linux hicolor theme sizes (and the sources of the two below)
  datawrangler.ico      Windows: 16, 24, 32, 48, 64, 128, 256, each stored as PNG (Vista and later read it)
  datawrangler.icns     macOS: PNG entries 16 ... 1024 including @2x, drawn on Apple's icon grid
                        (the rounded square is 824 of 1024 px, centred), so it sits right in the Dock
Both container formats are a small header and a table of PNGs; they are written by hand below, no tool
(iconutil, ImageMagick) needed.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QImageWriter, QLinearGradient, QPainter, QPainterPath, QPen

OUT = Path(__file__).resolve().parent / "icons"
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# icns entry types holding PNG data, and the pixel size of each (the @2x types repeat a size)
ICNS_TYPES = (("icp4", 16), ("icp5", 32), ("ic11", 32), ("icp6", 64), ("ic12", 64), ("ic07", 128),
              ("ic08", 256), ("ic13", 256), ("ic09", 512), ("ic14", 512), ("ic10", 1024))
TOP, BOTTOM, MARK = "#2b74cf", "#184f96", "#ffffff"


def draw(size: int, *, macos_grid: bool = False) -> QImage:
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    # the tile: edge to edge at small sizes (every pixel counts), a little air above 32 px, Apple's grid on macOS
    inset = size * 100 / 1024 if macos_grid else (0 if size <= 32 else size / 32)
    tile = QRectF(inset, inset, size - 2 * inset, size - 2 * inset)
    s = tile.width()
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    grad = QLinearGradient(tile.topLeft(), tile.bottomLeft())
    grad.setColorAt(0, QColor(TOP))
    grad.setColorAt(1, QColor(BOTTOM))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(grad)
    radius = s * (0.225 if macos_grid else 0.2)
    p.drawRoundedRect(tile, radius, radius)

    # the double check of theme.paint_symbol("double"), in the inner 80 % of the tile
    inner = s * 0.8
    c = tile.center()
    r = inner * 0.38
    pen = QPen(QColor(MARK), max(1.6, inner / 9) * 0.9)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)

    def pt(x: float, y: float) -> QPointF:
        return QPointF(c.x() + x * r, c.y() + (y + 0.05) * r)  # the marks span -0.6 ... 0.5: centred

    for dx in (-0.7, 0.0):
        path = QPainterPath(pt(-0.35 + dx, 0.0))
        path.lineTo(pt(0.15 + dx, 0.5))
        path.lineTo(pt(1.05 + dx, -0.6))
        p.drawPath(path)
    p.end()
    return img


def png_bytes(img: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buf, QByteArray(b"png"))
    writer.setQuality(0)  # PNG: 0 is the strongest compression (lossless either way)
    if not writer.write(img):
        raise OSError(f"PNG encoding failed: {writer.errorString()}")
    buf.close()
    return bytes(data.data())


def ico(pngs: dict[int, bytes]) -> bytes:
    """ICONDIR, one ICONDIRENTRY per image (0 in the width/height byte means 256), then the PNGs."""
    sizes = sorted(pngs)
    offset = 6 + 16 * len(sizes)
    head = struct.pack("<HHH", 0, 1, len(sizes))
    entries, blobs = b"", b""
    for n in sizes:
        blob = pngs[n]
        entries += struct.pack("<BBBBHHII", n % 256, n % 256, 0, 0, 1, 32, len(blob), offset + len(blobs))
        blobs += blob
    return head + entries + blobs


def icns(pngs: dict[int, bytes]) -> bytes:
    """'icns', total length, then (type, 8 + length, PNG) per entry; all lengths big-endian."""
    body = b"".join(kind.encode("ascii") + struct.pack(">I", 8 + len(pngs[n])) + pngs[n] for kind, n in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QGuiApplication.instance() or QGuiApplication(["make_icons"])  # noqa: F841 (kept alive while painting)
    OUT.mkdir(exist_ok=True)
    flat = {n: png_bytes(draw(n)) for n in PNG_SIZES}
    for n, blob in flat.items():
        (OUT / f"datawrangler-{n}.png").write_bytes(blob)
    (OUT / "datawrangler.ico").write_bytes(ico({n: flat[n] for n in ICO_SIZES}))
    mac = {n: png_bytes(draw(n, macos_grid=True)) for n in sorted({n for _, n in ICNS_TYPES})}
    (OUT / "datawrangler.icns").write_bytes(icns(mac))
    for f in sorted(OUT.iterdir()):
        print(f"{f.stat().st_size:>8}  {f.relative_to(OUT.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
