"""Camera cards: the fingerprint that recognises a card again, a default reel name, and recognition.

A card's fingerprint is a stable hash of its listing (relative path, size, modification time), so the
same card inserted twice is recognised without reading a byte of footage, and a card that went back into
the camera and shot more gets a new fingerprint.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import os
import re
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from datawrangler.core.scan import DEFAULT_IGNORE, FileList, ScanResult, SourceFile, scan_source
from datawrangler.core.typed import json_list, read_json

_REEL = re.compile(r"^[A-Z]\d{3}")


def fingerprint_files(files: Iterable[SourceFile]) -> str:
    """sha256 over the sorted (rel_path, size, mtime_ns) triples: independent of walk order. A scan's FileList
    gives them sorted a folder at a time (FileList.by_path), not as one list of every file."""
    h = hashlib.sha256()
    ordered: Iterable[tuple[str, int, int]] = files.by_path() if isinstance(files, FileList) else \
        sorted((f.rel_path, f.size, f.mtime_ns) for f in files)
    for rel_path, size, mtime_ns in ordered:
        h.update(rel_path.encode("utf-8", "surrogateescape"))
        h.update(b"\0%d\0%d\n" % (size, mtime_ns))
    return h.hexdigest()


def fingerprint(scan: ScanResult) -> str:
    return fingerprint_files(scan.files)


def default_reel(source: str) -> str | None:
    """`A001` from a card folder named `A001R2EC` (camera letter + three digits), else None."""
    name = os.path.basename(os.path.normpath(source))
    m = _REEL.match(name)
    return m.group(0) if m else None


# -- Recognition: what kind of card this is, from its folder layout and file names (never its bytes) --------

RULES_RESOURCE = ("cards", "rules.json")
MEDIA_KINDS = ("camera", "sound", "stills")
GENERIC = "generic"


class RulesError(ValueError):
    """The card rules file cannot be used; the message names the rule and the field."""


@dataclass(frozen=True)
class CardRule:
    id: str
    vendor: str
    family: str
    media: str
    priority: int
    clip: re.Pattern[str]
    require: tuple[re.Pattern[str], ...] = ()
    forbid: tuple[re.Pattern[str], ...] = ()
    card_id: re.Pattern[str] | None = None
    ext: frozenset[str] = frozenset()  # empty: any extension
    min_clips: int = 1
    min_share: float = 0.0
    vendor_group: str | None = None
    vendor_map: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> CardRule:
        def text(key: str) -> str:
            value = data.get(key)
            if not isinstance(value, str) or not value:
                raise RulesError(f"{where}: '{key}' must be non-empty text, not {value!r}.")
            return value

        def pattern(value: object, key: str) -> re.Pattern[str]:
            if not isinstance(value, str):
                raise RulesError(f"{where}: '{key}' must be a regular expression (text), not {value!r}.")
            try:
                return re.compile(value, re.IGNORECASE)
            except re.error as exc:
                raise RulesError(f"{where}: '{key}' is not a valid regular expression ({exc}).") from None

        def patterns(key: str) -> tuple[re.Pattern[str], ...]:
            value = data.get(key, [])
            if not isinstance(value, list):
                raise RulesError(f"{where}: '{key}' must be a list of regular expressions.")
            return tuple(pattern(v, key) for v in value)

        media = text("media")
        if media not in MEDIA_KINDS:
            raise RulesError(f"{where}: 'media' must be one of {', '.join(MEDIA_KINDS)}, not {media!r}.")
        clip = pattern(data.get("clip"), "clip")
        if "clip" not in clip.groupindex:
            raise RulesError(f"{where}: 'clip' needs a named group (?P<clip>...) that names the clip.")
        priority = data.get("priority", 0)
        min_clips = data.get("min_clips", 1)
        min_share = data.get("min_share", 0.0)
        if not isinstance(priority, int) or not isinstance(min_clips, int) or min_clips < 0:
            raise RulesError(f"{where}: 'priority' and 'min_clips' must be whole numbers (min_clips >= 0).")
        if not isinstance(min_share, int | float) or not 0 <= min_share <= 1:
            raise RulesError(f"{where}: 'min_share' must be a number from 0 to 1, not {min_share!r}.")
        card_id = pattern(data["card_id"], "card_id") if "card_id" in data else None
        if card_id is not None and "id" not in card_id.groupindex:
            raise RulesError(f"{where}: 'card_id' needs a named group (?P<id>...).")
        vmap = data.get("vendor_map", {})
        if not isinstance(vmap, dict):
            raise RulesError(f"{where}: 'vendor_map' must be an object {{group value: vendor}}.")
        return cls(text("id"), text("vendor"), text("family"), media, priority, clip, patterns("require"),
                   patterns("forbid"), card_id, frozenset(str(e).lower() for e in data.get("ext", [])),
                   min_clips, float(min_share), data.get("vendor_group"),
                   tuple((str(k).upper(), str(v)) for k, v in vmap.items()))


def load_rules(path: str | os.PathLike[str] | None = None) -> tuple[CardRule, ...]:
    """The rules from a JSON file (default: the shipped resources/cards/rules.json), best first."""
    where = os.fspath(path) if path is not None else "/".join(("resources", *RULES_RESOURCE))
    text = None
    if path is None:
        text = importlib.resources.files("datawrangler.resources").joinpath(*RULES_RESOURCE).read_text("utf-8")
    rules = json_list(read_json(where, "card rules", RulesError, "", text=text), "rules", "card rules", where,
                      RulesError)
    out = []
    for i, r in enumerate(rules):
        if not isinstance(r, dict):
            raise RulesError(f"{where}: rule {i + 1} is not a JSON object.")
        out.append(CardRule.from_dict(r, f"{where}: rule {r.get('id') or i + 1}"))
    ids = [r.id for r in out]
    if len(set(ids)) != len(ids):
        raise RulesError(f"{where}: rule ids must be unique.")
    return tuple(sorted(out, key=lambda r: -r.priority))


@functools.cache
def default_rules() -> tuple[CardRule, ...]:
    return load_rules()


@dataclass(frozen=True)
class CardInfo:
    """What recognition sees on a card. `reel` is None when the card's names do not carry one (Sony M4ROOT,
    P2, AVCHD, DCIM): the offload counter names those."""

    root: str
    vendor: str
    family: str
    media: str  # camera / sound / stills
    rule: str  # the matching rule's id, or "generic"
    camera_letter: str | None
    reel: str | None
    card_id: str | None  # e.g. A001R2EC (ARRI), A001_0102XY (RED); else the reel
    clip_count: int
    first_clip: str | None
    last_clip: str | None
    clip_date: str | None  # as the clip names spell it (e.g. 231014), when they carry one
    file_count: int
    total_bytes: int
    fingerprint: str
    label: str | None = None  # the volume label, when recognised from a mounted volume

    @property
    def generic(self) -> bool:
        return self.rule == GENERIC


@dataclass
class _Match:
    rule: CardRule
    clips: dict[str, re.Match[str]]  # clip key -> the match that names the clip (see _keep)
    files: int  # files the clip pattern matched


def _clip_key(m: re.Match[str]) -> str:
    """What makes files one clip: the 'take' group where the rule has one (GoPro chapters GX010001,
    GX020001 are take 0001), else the clip name (RED spans share their .RDC folder's name, an ARRIRAW
    sequence its folder's name)."""
    return _group(m, "take") or m.group("clip")


def _keep(clips: dict[str, re.Match[str]], m: re.Match[str]) -> None:
    """Add m's file to its clip; the clip is named by the least of its files' clip names (the first
    chapter), so the result does not depend on which file is seen first."""
    key = _clip_key(m)
    prev = clips.get(key)
    if prev is None or m.group("clip") < prev.group("clip"):
        clips[key] = m


def _ext(rel_path: str) -> str:
    name = rel_path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


class _Paths(Collection[str]):
    """A listing's paths, to be walked once a rule: a scan's FileList makes each path as it is asked for,
    so recognising a card of 1,000,000 frames does not hold 1,000,000 strings."""

    def __init__(self, files: Sequence[SourceFile]) -> None:
        self.files = files

    def __iter__(self) -> Iterator[str]:
        files = self.files
        return files.rel_paths() if isinstance(files, FileList) else (f.rel_path for f in files)

    def __len__(self) -> int:
        return len(self.files)

    def __contains__(self, path: object) -> bool:
        return any(p == path for p in self)


def _match_rule(rule: CardRule, paths: Collection[str], exts: list[str]) -> _Match | None:
    if any(not any(p.search(x) for x in paths) for p in rule.require):
        return None
    if any(p.search(x) for p in rule.forbid for x in paths):
        return None
    clips: dict[str, re.Match[str]] = {}
    n = 0
    for path, ext in zip(paths, exts, strict=True):
        if rule.ext and ext not in rule.ext:
            continue
        m = rule.clip.search(path)
        if m:
            n += 1
            _keep(clips, m)
    if len(clips) < rule.min_clips or not n or n < rule.min_share * len(paths):
        return None
    return _Match(rule, clips, n)


def _group(m: re.Match[str], name: str) -> str | None:
    return m.groupdict().get(name) or None


def _reel_of(matches: Iterable[re.Match[str]]) -> tuple[str | None, str | None, str | None]:
    """(camera letter, reel, ARRI card suffix) most clips agree on."""
    votes: Counter[tuple[str, str, str | None]] = Counter()
    for m in matches:
        cam, num = _group(m, "camera"), _group(m, "reel")
        if cam and num:
            suffix = _group(m, "suffix")
            votes[(cam.upper(), num, suffix.upper() if suffix else None)] += 1
    if not votes:
        return None, None, None
    (cam, num, suffix), _ = min(votes.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1], kv[0][2] or ""))
    return cam, cam + num, suffix


def _label_reel(label: str | None) -> str | None:
    m = _REEL.match(label.upper()) if label else None
    return m.group(0) if m else None


def _clips(paths: Collection[str], rules: Sequence[CardRule] | None
           ) -> tuple[list[_Match], dict[str, re.Match[str]]]:
    """(the matching rules of the card's vendor, best first; its clips by key), or ([], {}) for an unknown
    layout."""
    rules = default_rules() if rules is None else sorted(rules, key=lambda r: -r.priority)
    exts = [sys.intern(_ext(p)) for p in paths]  # a few extensions, each kept once
    best: _Match | None = None
    for rule in rules:
        if best is not None and rule.priority < best.rule.priority:
            break
        m = _match_rule(rule, paths, exts)
        if m is not None and (best is None or len(m.rule.require) > len(best.rule.require)):
            best = m  # equal priority: the rule that requires more structure is the more specific
    if best is None:
        return [], {}
    found = [best, *_same_vendor(best.rule, rules, paths, exts)]
    clips: dict[str, re.Match[str]] = {}
    for clip in (c for f in found for c in f.clips.values()):
        _keep(clips, clip)
    return found, clips


def count_clips(rel_paths: Iterable[str], rules: Sequence[CardRule] | None = None) -> int:
    """The clips in a card's listing, as recognise() counts them (a generic card: every file). The reports
    count with this, so that a report and the window's Cards list give a card the same number."""
    paths = list(rel_paths)
    found, clips = _clips(paths, rules)
    return len(clips) if found else len(paths)


def clip_members(rel_paths: Iterable[str], rules: Sequence[CardRule] | None = None
                 ) -> tuple[str | None, dict[str, str]]:
    """(the media of the card's layout, or None when no rule knows it; {rel_path: clip name} for every file a
    rule's clip pattern names). The files of one clip (spans, chapters, frames) share the clip's name, as
    recognise() counts them. `core.clips` groups the rest of a card's files by extension."""
    paths = list(rel_paths)
    found, clips = _clips(paths, rules)
    members: dict[str, str] = {}
    for path in paths:
        ext = _ext(path)
        for f in found:
            if f.rule.ext and ext not in f.rule.ext:
                continue
            m = f.rule.clip.search(path)
            if m:
                members[path] = clips[_clip_key(m)].group("clip")
                break
    return (found[0].rule.media if found else None), members


def recognise(root: str | os.PathLike[str], *, scan: ScanResult | None = None, label: str | None = None,
              rules: Sequence[CardRule] | None = None) -> CardInfo:
    """Recognise the card at root from its layout and names. Unknown layouts give a generic card."""
    root = os.fspath(root)
    if scan is None:
        scan = scan_source(root, DEFAULT_IGNORE)
    paths = _Paths(scan.files)
    found, clips = _clips(paths, rules)
    fp = fingerprint(scan)
    fallback = _label_reel(label) or default_reel(root)
    if not found:
        first = min((p.rsplit("/", 1)[-1] for p in paths), default=None)
        last = max((p.rsplit("/", 1)[-1] for p in paths), default=None)
        return CardInfo(root, "Unknown", "Generic card", "camera", GENERIC, fallback[0] if fallback else None,
                        fallback, fallback, len(paths), first, last, None, len(paths), scan.total_bytes, fp, label)
    best = found[0]
    rule = best.rule
    camera, reel, suffix = _reel_of(clips.values())
    if reel is None and fallback:
        camera, reel = fallback[0], fallback
    id_patterns = [f.rule.card_id for f in found if f.rule.card_id is not None]
    card_id = next((hit.group("id").upper() for pattern in id_patterns for p in paths
                    if (hit := pattern.search(p))), None)
    if card_id is None:
        card_id = reel + suffix if reel and suffix else reel
    ordered = sorted(clips.values(), key=lambda m: m.group("clip"))
    vendor = rule.vendor
    if rule.vendor_group:
        makers = Counter((_group(m, rule.vendor_group) or "").upper() for m in best.clips.values())
        vendor = dict(rule.vendor_map).get(makers.most_common(1)[0][0], vendor)
    family = " + ".join(dict.fromkeys(f.rule.family for f in found))
    return CardInfo(root, vendor, family, rule.media, rule.id, camera, reel, card_id, len(clips),
                    ordered[0].group("clip"), ordered[-1].group("clip"), _group(ordered[0], "date"), len(paths),
                    scan.total_bytes, fp, label)


def _same_vendor(best: CardRule, rules: Sequence[CardRule], paths: Collection[str], exts: list[str]
                 ) -> list[_Match]:
    """The other rules of the winning rule's vendor and media that match the card too: one card can hold
    several of a vendor's layouts (ProRes clips next to ARRIRAW sequences, XF-AVC next to Cinema RAW
    Light), and every take of every layout is a clip. Best first."""
    out = []
    for rule in rules:
        if rule is not best and rule.vendor == best.vendor and rule.media == best.media:
            m = _match_rule(rule, paths, exts)
            if m is not None:
                out.append(m)
    return out
