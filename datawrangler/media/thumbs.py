"""Thumbnails: a decoded frame as a small JPEG. The frame is scaled by FFmpeg (swscale) before it becomes an
image, so an 8K frame never exists as a full-size RGB picture in memory."""

from __future__ import annotations

import os
from pathlib import Path

import av

THUMB_WIDTH = 320
QUALITY = 80


def thumb_size(width: int, height: int, target_width: int = THUMB_WIDTH) -> tuple[int, int]:
    """(w, h) for a thumbnail `target_width` wide (never wider than the frame), even numbers for the scaler."""
    w = min(target_width, width) or target_width
    h = max(2, round(height * w / width)) if width else w * 9 // 16
    return w - w % 2, h - h % 2


def write_jpeg(frame: av.VideoFrame, target: Path, width: int = THUMB_WIDTH) -> None:
    """Scale `frame` to `width` and write it as a JPEG at `target` (made under a temp name, then renamed)."""
    w, h = thumb_size(frame.width, frame.height, width)
    small = frame.reformat(width=w, height=h, format="rgb24")
    image = small.to_image()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        image.save(tmp, "JPEG", quality=QUALITY)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
