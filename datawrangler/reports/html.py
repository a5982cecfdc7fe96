"""Reports as HTML, through the Jinja2 templates shipped in datawrangler.resources/reports.

The same HTML feeds the PDF (Qt's rich-text subset) and the --html file (any browser), so the templates
keep to what both understand.
"""

from __future__ import annotations

import importlib.resources
from functools import cache

import jinja2

from datawrangler.reports import fmt
from datawrangler.reports.model import Report, Volume

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


def render(report: Report, *, standalone: bool = False) -> str:
    """The report's HTML. standalone: a file of its own (carries the generation line that the PDF's page
    header carries otherwise)."""
    template = environment().get_template(f"{report.meta.kind}.html.j2")
    return template.render(r=report, meta=report.meta, standalone=standalone)
