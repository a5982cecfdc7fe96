"""Reports as HTML, through the Jinja2 templates shipped in datawrangler.resources/reports.

The same HTML feeds the PDF (Qt's rich-text subset) and the --html file (any browser), so the templates
keep to what both understand.

Pictures (the clips' thumbnails): an HTML file carries them inside itself as data: URIs, so it can be mailed
without the thumbnails folder; for the PDF they are named resources (`render_for_pdf` returns their bytes,
`pdf.write_pdf` hands them to the document), which every Qt version loads the same way.
"""

from __future__ import annotations

import base64
import importlib.resources
from functools import cache
from pathlib import Path

import jinja2

from datawrangler.reports import fmt
from datawrangler.reports.model import Report, Volume

# a transparent 1x1 GIF: the spacer that gives an empty thumbnail frame its height
_BLANK = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
BLANK_NAME = "dw-images/blank.gif"

_PACKAGE = "datawrangler.resources"


def _template_source(name: str) -> str:
    node = importlib.resources.files(_PACKAGE).joinpath("reports", name)
    try:
        return node.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise jinja2.TemplateNotFound(name) from None


def _volume(v: Volume | None) -> str:
    """Label, where it was mounted, filesystem, and its identity: 'SHUTTLE1 · /media/SHUTTLE1 · exfat ·
    uuid:5E1D-2A3B'. The identity is shown when it is a filesystem UUID (a device-number key only
    repeats the mount point)."""
    if v is None:
        return "—"
    parts = [v.label or "(no label)"]
    if v.mount_point:
        parts.append(v.mount_point)
    if v.fstype:
        parts.append(v.fstype)
    if v.key and v.key.startswith("uuid:"):
        parts.append(v.key)
    elif v.device and v.device.startswith("/dev/"):
        parts.append(v.device)
    return " · ".join(parts)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FunctionLoader(_template_source), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(size=fmt.size, exact=fmt.exact, when=fmt.when, stamp=fmt.stamp, day=fmt.day,
                       duration=fmt.duration, speed=fmt.speed, plural=fmt.plural, volume=_volume)
    return env


class Images:
    """The template's `image(path)` and `blank()`: a data: URI each (inline), or a resource name whose bytes
    are kept in `resources` for the PDF writer. A picture used twice is read once."""

    def __init__(self, inline: bool) -> None:
        self.inline = inline
        self.resources: dict[str, bytes] = {}
        self._names: dict[Path, str] = {}

    def image(self, path: Path) -> str:
        if path in self._names:
            return self._names[path]
        data = path.read_bytes()
        if self.inline:
            name = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
        else:
            name = f"dw-images/{len(self.resources)}.jpg"
            self.resources[name] = data
        self._names[path] = name
        return name

    def blank(self) -> str:
        if self.inline:
            return "data:image/gif;base64," + base64.b64encode(_BLANK).decode("ascii")
        self.resources[BLANK_NAME] = _BLANK
        return BLANK_NAME


def _render(report: Report, standalone: bool, images: Images) -> str:
    template = environment().get_template(f"{report.meta.kind}.html.j2")
    return template.render(r=report, meta=report.meta, standalone=standalone, image=images.image,
                           blank=images.blank)


def render(report: Report, *, standalone: bool = False) -> str:
    """The report's HTML, its pictures inside it. standalone: a file of its own (carries the generation line
    that the PDF's page header carries otherwise)."""
    return _render(report, standalone, Images(inline=True))


def render_for_pdf(report: Report) -> tuple[str, dict[str, bytes]]:
    """The HTML for the PDF, and the pictures it names (resource name -> JPEG or GIF bytes)."""
    images = Images(inline=False)
    return _render(report, False, images), images.resources
