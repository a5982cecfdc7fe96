"""Offload presets and the naming template: pure, no I/O (the settings file holds presets; config loads them).

A template such as ``{date}/{camera}/{reel}`` names the roll folder on every destination ('/' makes
subfolders). The production chooses every part of it, so the result keeps to Netflix's
``[A-Za-z0-9._-]`` (token values are made safe; literal text must already be), which is also safe on
exFAT and NTFS.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import string
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from datawrangler.core.cards import CardInfo
from datawrangler.core.errors import OffloadError
from datawrangler.core.events import VerifyMode
from datawrangler.core.hashing import REGISTRY, parse_algorithms
from datawrangler.core.protection import Rule, RuleError
from datawrangler.core.typed import field_values

TOKENS = {
    "project": "the production's name",
    "date": "the offload's date, YYYY-MM-DD",
    "day": "the shooting day number (2 digits unless a format is given: {day:03d})",
    "camera": "the camera letter (A)",
    "reel": "the reel (A001)",
    "card": "the card id (A001R2EC for ARRI; else the reel)",
    "label": "the card's volume label",
    "vendor": "the camera vendor (ARRI, RED, Sony...)",
    "counter": "the reel number for this camera (3 digits unless a format is given: {counter:04d})",
    "media": "camera, sound or stills",
}
_DEFAULT_SPEC = {"counter": "03d", "day": "02d"}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LITERAL_OK = re.compile(r"^[A-Za-z0-9._/-]*$")
# A preset's checksum lists are named by their checker (core.hashing's registry): the list of which algorithm.
LIST_KINDS = {kind: alg for kind, alg in (("md5sum", "md5"), ("xxhsum", "xxh64")) if REGISTRY[alg].checker == kind}
HANDOFF_KINDS = ("ascmhl", "mhl", *LIST_KINDS, "csv", "json", "ale", "clip_csv")


def list_algorithms(kinds: Iterable[str]) -> tuple[str, ...]:
    """The algorithms whose checksum lists these handoff kinds ask for: ('ascmhl', 'xxhsum') -> ('xxh64',)."""
    wanted = set(kinds)
    return tuple(alg for kind, alg in LIST_KINDS.items() if kind in wanted)


class TemplateError(ValueError):
    """The template cannot name a folder; the message says which part and what to do."""


def safe_part(text: str) -> str:
    """Text made of [A-Za-z0-9._-] only: accents dropped (é -> e), anything else becomes '_'."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SAFE.sub("_", ascii_text)


def check_template(template: str) -> list[str]:
    """The template's tokens, in order; TemplateError if it uses an unknown token or unsafe literal text."""
    if not template.strip():
        raise TemplateError("The naming template is empty. Use tokens such as {date}/{reel}.")
    used = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"The naming template {template!r} is not valid ({exc}). Write tokens as "
                            "{reel}; a literal brace is not allowed.") from None
    for literal, name, spec, conversion in parsed:
        if not _LITERAL_OK.match(literal):
            bad = sorted({c for c in literal if not _LITERAL_OK.match(c)})
            raise TemplateError(f"The naming template {template!r} contains {''.join(bad)!r}: folder names "
                                "chosen by the production may only use letters, digits, '.', '_' and '-' "
                                "(Netflix's rule; also safe on exFAT and NTFS).")
        if name is None:
            continue
        if name not in TOKENS:
            raise TemplateError(f"Unknown token {{{name}}} in the naming template {template!r}. Tokens: "
                                + ", ".join("{" + t + "}" for t in TOKENS) + ".")
        if conversion:
            raise TemplateError(f"{{{name}!{conversion}}}: conversions are not supported in the naming template.")
        if spec and name not in _DEFAULT_SPEC:
            raise TemplateError(f"{{{name}:{spec}}}: only {{counter}} and {{day}} take a number format.")
        used.append(name)
    if template.startswith("/") or "//" in template:
        raise TemplateError(f"The naming template {template!r} has an empty folder name (a leading or double '/').")
    return used


def render_template(template: str, tokens: Mapping[str, str | int | None]) -> str:
    """The relative folder path the template names for these token values ('/'-separated)."""
    check_template(template)
    out = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        value = tokens.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                out.append(format(value, spec or _DEFAULT_SPEC.get(name, "d")))
            except ValueError:
                raise TemplateError(f"{{{name}:{spec}}} is not a number format (try {{{name}:03d}}).") from None
        else:
            if spec:
                raise TemplateError(f"{{{name}:{spec}}}: the value {value!r} is not a number.")
            out.append(safe_part(str(value)))
    parts = []
    for part in "".join(out).split("/"):
        part = re.sub(r"([._-])[._-]+", r"\1", part).strip("._-")  # an empty token leaves no stray '_'
        if not part:
            missing = [n for n in check_template(template) if not tokens.get(n) and tokens.get(n) != 0]
            raise TemplateError(f"The naming template {template!r} gives an empty folder name"
                                + (f": no value for {', '.join('{' + n + '}' for n in missing)}" if missing else "")
                                + ". Set it in the preset or change the template.")
        if len(part.encode()) > 255:
            raise TemplateError(f"The folder name {part[:40]!r}… is longer than 255 bytes.")
        parts.append(part)
    return "/".join(parts)


def card_tokens(preset: Preset, card: CardInfo, *, reel: str, counter: int | None,
                when: dt.date | None = None) -> dict[str, str | int | None]:
    return {
        "project": preset.project or None,
        "date": (when or dt.date.today()).isoformat(),
        "day": preset.day,
        "camera": reel[0] if reel else card.camera_letter,
        "reel": reel,
        "card": card.card_id if card.card_id and card.reel == reel else reel,
        "label": card.label,
        "vendor": card.vendor,
        "counter": counter,
        "media": card.media,
    }


RULE_CHOICES = ("", "3-2-1")  # what the preset editor and --rule offer (any number of copies is accepted too)


def protection_rule(copies_required: int, rule: str | None = None) -> Rule:
    """The rule a card is judged by: `rule` when one is given ("3-2-1", or a number of copies), else
    `copies_required` verified copies on distinct drives, the rule every preset had before `rule` existed.
    RuleError (its message names the choices) for a rule that cannot be read."""
    if rule is not None and str(rule).strip():
        return Rule.parse(str(rule))
    return Rule(copies_required)


class PresetError(ValueError):
    """A preset cannot be used; the message names the preset and the field."""


@dataclass(frozen=True)
class Preset:
    name: str
    destinations: tuple[str, ...] = ()  # destination roots, one per drive
    # cascading copy: roots written from a verified stage-1 copy once the card is released (app.cascade)
    stage2: tuple[str, ...] = ()
    template: str = "{date}/{reel}"  # the roll folder under each destination
    algorithms: tuple[str, ...] = ("xxh64",)
    verify_mode: str = "full"
    copies_required: int = 2
    # the rule a card must meet before it may be formatted: "" = copies_required copies on distinct drives,
    # "3-2-1" = a studio's rule (three copies, two kinds of media, one in another place: core.protection)
    rule: str = ""
    handoff: tuple[str, ...] = ("ascmhl",)  # files written into each roll after the offload
    clips: bool = True  # read each clip's metadata from a verified copy once the copies are verified
    thumbnails: int = 1  # thumbnails per clip: 0, 1 or 3 (JPEGs beside the catalog)
    auto_offload: bool = False  # offload a recognised card as soon as it mounts
    auto_generic: bool = False  # ... and an unrecognised one too
    eject_after: bool = False  # eject the card once it is safe to format (enough verified copies)
    keep_awake: bool = True  # keep the machine from sleeping while offloading
    project: str = ""
    day: int | None = None  # the shooting day
    camera: str = "A"  # the camera letter for cards whose names carry none
    sound_camera: str = "S"  # ... for sound cards

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "presets") -> Preset:
        if not isinstance(data, Mapping):
            raise PresetError(f"{source}: a preset must be a JSON object, not {data!r}.")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise PresetError(f"{source}: every preset needs a 'name' (text).")
        where = f"{source}: preset {name!r}"
        preset = cls(**field_values(cls, data, where, PresetError))
        preset.validate(where)
        return preset

    def validate(self, where: str | None = None) -> None:
        where = where or f"preset {self.name!r}"
        try:
            check_template(self.template)
            parse_algorithms(self.algorithms)
        except (TemplateError, OffloadError) as exc:
            raise PresetError(f"{where}: {exc}") from None
        if self.verify_mode not in {m.value for m in VerifyMode}:
            raise PresetError(f"{where}: 'verify_mode' must be full, destinations or size, not {self.verify_mode!r}.")
        if self.copies_required < 1:
            raise PresetError(f"{where}: 'copies_required' must be at least 1.")
        try:
            protection_rule(self.copies_required, self.rule)
        except RuleError as exc:
            raise PresetError(f"{where}: 'rule': {exc}") from None
        if self.thumbnails not in (0, 1, 3):
            raise PresetError(f"{where}: 'thumbnails' must be 0, 1 or 3 (per clip), not {self.thumbnails!r}.")
        if self.day is not None and self.day < 0:
            raise PresetError(f"{where}: 'day' must be 0 or more.")
        bad = [h for h in self.handoff if h not in HANDOFF_KINDS]
        if bad:
            raise PresetError(f"{where}: unknown handoff file kind(s) {', '.join(bad)}; choose from "
                              f"{', '.join(HANDOFF_KINDS)}.")
        for kind, alg in LIST_KINDS.items():
            if kind in self.handoff and alg not in parse_algorithms(self.algorithms):
                raise PresetError(f"{where}: the {kind} handoff list needs {alg} among the 'algorithms'.")
        for key in ("camera", "sound_camera"):
            letter = getattr(self, key)
            if not re.fullmatch(r"[A-Z]", letter):
                raise PresetError(f"{where}: '{key}' must be one capital letter, not {letter!r}.")
        if self.auto_offload and not self.destinations:
            raise PresetError(f"{where}: auto-offload needs at least one destination.")
        if self.stage2 and not self.destinations:
            raise PresetError(f"{where}: stage 2 copies from a stage-1 destination: add at least one destination.")
        both = sorted(set(self.stage2) & set(self.destinations))
        if both:
            raise PresetError(f"{where}: {', '.join(both)} is both a destination and a stage-2 destination; keep it "
                              "in one list.")

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def protection(self) -> Rule:
        """The rule this preset's cards are judged by (see protection_rule)."""
        return protection_rule(self.copies_required, self.rule)

    def camera_for(self, card: CardInfo) -> str:
        """The camera letter of a card: its own, else the preset's (the sound letter for a sound card)."""
        if card.camera_letter:
            return card.camera_letter
        return self.sound_camera if card.media == "sound" else self.camera


@dataclass(frozen=True)
class EntryProblem:
    """One entry of a presets file that the window cannot use as written (see lenient_presets)."""

    preset: str  # the preset's name, or 'entry 3' for one without a name
    message: str  # names the file, the preset and the key
    skipped: bool  # True: the preset is not used; False: an unknown key, the preset loads without it


def lenient_presets(items: Sequence[Any], source: str) -> tuple[list[Preset], list[EntryProblem]]:
    """The presets of a presets file's list that can be used, in order, and what is wrong with the others:
    a broken entry (a wrong value, no name, a name used before) is skipped and named; an unknown key (a typo
    such as 'verfy_mode') is named and left out, the preset loads without it. Pure: config reads the file."""
    known = [f.name for f in fields(Preset)]
    presets: list[Preset] = []
    problems: list[EntryProblem] = []
    for number, item in enumerate(items, 1):
        name = item.get("name") if isinstance(item, Mapping) else None
        label = name if isinstance(name, str) and name.strip() else f"entry {number}"
        try:
            preset = Preset.from_dict({k: v for k, v in item.items() if k in known}
                                      if isinstance(item, Mapping) else item, source)
        except PresetError as exc:
            text = str(exc) if label == name else f"{str(exc).rstrip('.')} (entry {number} of the list)."
            problems.append(EntryProblem(label, text, True))
            continue
        if any(p.name == preset.name for p in presets):
            problems.append(EntryProblem(label, f"{source}: the name {preset.name!r} is used by an earlier preset "
                                         f"too (entry {number} of the list). Rename one.", True))
            continue
        presets.append(preset)
        assert isinstance(item, Mapping)
        for key in sorted(set(item) - set(known)):
            near = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
            hint = (f" (did you mean '{near[0]}'? It stays {json.dumps(_plain(getattr(preset, near[0])))})"
                    if near else " (a typo, or a key of a newer DataWrangler)")
            problems.append(EntryProblem(label, f"{source}: preset {preset.name!r}: '{key}' is not a preset key "
                                         f"this version knows{hint}.", False))
    return presets, problems


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
