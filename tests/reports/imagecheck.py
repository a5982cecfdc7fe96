"""Which thumbnails a PDF really holds, page by page: each picture pypdf lists on a page, decoded and matched
against the JPEGs it was made from (same size, nearly the same pixels). The transparent spacers that keep
the frames in line (1x1) are not pictures of anything and are left out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from PIL import Image, ImageChops, ImageStat
from pypdf import PdfReader

MAX_MEAN_DIFFERENCE = 4.0  # of 255, per channel: JPEG re-encoding; another test picture differs by 8 or more


def _difference(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return max(ImageStat.Stat(diff).mean)


def thumbnails_on_pages(pdf: Path, thumbnails: Mapping[str, Path]) -> list[list[str]]:
    """For each page, the names of the thumbnails drawn on it. Fails on a picture that is none of them."""
    originals = {name: Image.open(path) for name, path in thumbnails.items()}
    pages: list[list[str]] = []
    for number, page in enumerate(PdfReader(pdf).pages, 1):
        names = []
        for picture in page.images:
            image = picture.image
            assert image is not None
            if image.width <= 2 and image.height <= 2:
                continue  # a spacer
            matches = sorted((_difference(image, original), name) for name, original in originals.items()
                             if original.size == image.size)
            assert matches and matches[0][0] <= MAX_MEAN_DIFFERENCE, \
                f"page {number}: a {image.size} picture that is none of the thumbnails ({matches[:1]})"
            names.append(matches[0][1])
        pages.append(names)
    return pages
