"""Settings declared once, with typed defaults, in one JSON file in the user config directory.

`DATAWRANGLER_HOME` moves everything (settings, catalog, logs, reports) to one folder: tests and scripts
use it. Paths otherwise come from platformdirs.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import shutil
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from datawrangler.core.events import VerifyMode
from datawrangler.core.hashing import ALGORITHMS
from datawrangler.core.presets import Preset, PresetError, lenient_presets
from datawrangler.core.scan import DEFAULT_IGNORE
from datawrangler.core.typed import field_values, json_list, read_json

__all__ = ["CATALOG_ENV", "DEFAULT_IGNORE", "HOME_ENV", "FileNote", "Paths", "Settings", "SettingsError", "app_paths",
           "find_preset", "kept_sentence", "load_presets", "load_presets_leniently", "load_settings",
           "load_settings_leniently", "resolve_catalog", "save_presets", "save_settings"]

APP = "DataWrangler"
HOME_ENV = "DATAWRANGLER_HOME"
CATALOG_ENV = "DATAWRANGLER_CATALOG"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def presets_file(self) -> Path:
        return self.config_dir / "presets.json"

    @property
    def catalog_file(self) -> Path:
        return self.data_dir / "catalog.sqlite"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"


def app_paths(env: dict[str, str] | None = None) -> Paths:
    env = os.environ if env is None else env  # type: ignore[assignment]
    home = env.get(HOME_ENV) if env else None
    if home:
        root = Path(home).expanduser()
        return Paths(root / "config", root / "data", root / "logs")
    return Paths(
        Path(platformdirs.user_config_dir(APP, appauthor=False)),
        Path(platformdirs.user_data_dir(APP, appauthor=False)),
        Path(platformdirs.user_log_dir(APP, appauthor=False)),
    )


def resolve_catalog(given: str | os.PathLike[str] | None = None, settings_catalog: str | None = None,
                    env: Mapping[str, str] | None = None) -> str:
    """The catalog location a command or the window uses: the one given (--catalog), else DATAWRANGLER_CATALOG,
    else the settings' `catalog`, else the SQLite file in the data folder. A string (a path or a URL): store
    opens either (store.db.open_location)."""
    env = os.environ if env is None else env
    for candidate in (os.fspath(given) if given else "", env.get(CATALOG_ENV, ""), settings_catalog or ""):
        if candidate.strip():
            return candidate.strip()
    return str(app_paths(dict(env) if env is not os.environ else None).catalog_file)


class SettingsError(ValueError):
    """The settings file cannot be used as it is; the message says which key and what to do."""


_FIX_KEY = "Fix the file or delete the key to use the default."


_RANGES = {"copies_required": (1, 10), "retries": (0, 10), "read_retries": (0, 20), "chunk_mib": (1, 256),
           "queue_depth": (1, 64)}
_CHECKED = ("algorithms", "verify_mode", "report_paper", *_RANGES)


def _value_problem(key: str, value: Any) -> str:
    """What is wrong with a setting's value of the right type ('must be a4 or letter (got 'A5')'), or ''."""
    if key == "algorithms":
        if not value or any(a not in ALGORITHMS for a in value):
            return f"must name one or more of {', '.join(ALGORITHMS)} (got {list(value)})"
    elif key == "verify_mode":
        if value not in {m.value for m in VerifyMode}:
            return f"must be full, destinations or size (got {value!r})"
    elif key == "report_paper":
        if value not in ("a4", "letter"):
            return f"must be a4 or letter (got {value!r})"
    elif key in _RANGES:
        low, high = _RANGES[key]
        if not low <= value <= high:
            return f"must be between {low} and {high} (got {value})"
    return ""


@dataclass(frozen=True)
class Settings:
    algorithms: tuple[str, ...] = ("xxh64",)
    verify_mode: str = "full"
    copies_required: int = 2
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    retries: int = 2  # re-copies of a file whose read-back did not match
    read_retries: int = 3  # re-reads of a card region that failed to read
    chunk_mib: int = 8
    queue_depth: int = 4
    overlap_verify: bool = True  # read back file k while file k+1 is being written
    production: str = ""
    operator: str = ""
    mount_roots: tuple[str, ...] = ()  # roots the user added: every local volume at or under one is a card; the
    # platform's roots (/media, /Volumes, ...) are watched besides, for removable media only
    report_paper: str = "a4"  # the paper of the report filed after each offload: a4 or letter
    # this station's name on each offload it makes ("": the host name) and the place it stands ("": not said):
    # a rule that asks for a copy in another place (3-2-1) counts the sites the copies were made at
    station: str = ""
    site: str = ""
    # where the catalog is ("": the SQLite file in the data folder): a path, sqlite:///PATH or
    # postgresql://USER@HOST/DATABASE (several stations sharing one catalog). --catalog and DATAWRANGLER_CATALOG
    # come before it (resolve_catalog)
    catalog: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Values, not only types: a wrong one is named with what to do, when the settings are read."""
        for key in _CHECKED:
            why = _value_problem(key, getattr(self, key))
            if why:
                raise SettingsError(f"settings: '{key}' {why}. {_FIX_KEY}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "settings") -> Settings:
        """Settings of a newer version (unknown keys) are kept in the file and ignored here. A wrong value
        is named with the file it came from."""
        values = field_values(cls, data, source, SettingsError, fix=_FIX_KEY, unknown="ignore")
        for key, value in values.items():
            why = _value_problem(key, value)
            if why:
                raise SettingsError(f"{source}: '{key}' {why}. {_FIX_KEY}")
        return cls(**values)

    @property
    def station_name(self) -> str:
        """The name recorded on each offload: the `station` setting, else this computer's host name."""
        return self.station.strip() or socket.gethostname()

    @property
    def site_name(self) -> str | None:
        """The site recorded on each offload; None when nobody said where this station stands."""
        return self.site.strip() or None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
        return out


def load_settings(paths: Paths | None = None) -> Settings:
    """The settings, strictly: SettingsError names the first bad key (the command line refuses to guess)."""
    paths = paths or app_paths()
    f = paths.settings_file
    if not f.exists():
        return Settings()
    data = read_json(f, "settings file", SettingsError, "Fix it or move it away to start with the defaults.")
    if not isinstance(data, dict):
        raise SettingsError(f"The settings file {f} does not hold a JSON object. Fix it or move it away.")
    return Settings.from_dict(data, source=str(f))


@dataclass(frozen=True)
class FileNote:
    """Something in the settings or presets file that the window could not use as written, and what it uses
    instead. The window starts anyway (a DIT on set needs it now) and says each one; the file is not touched."""

    file: str
    key: str  # the setting, the preset's name, or '' for the whole file
    problem: str  # a sentence that names the file and the key and says what is wrong
    instead: str  # a sentence: what is used instead
    kind: str = "bad"  # bad (a value), unknown (a key this version does not know), unreadable, preset

    @property
    def text(self) -> str:
        return f"{self.problem} {self.instead}".strip()

    @property
    def sets_aside(self) -> bool:
        """Saving over this file would lose what the user wrote: it is kept aside first (see save_settings)."""
        return self.kind != "unknown"


def kept_sentence(file: str) -> str:
    """What happens to a file the window could not use as written: said once per file (see _set_aside)."""
    name = os.path.basename(file)
    return (f"{name} is left as it is; before DataWrangler next saves its settings (a change in Settings, or "
            f"quitting), it keeps a copy beside it as {name}.bad-<date>-<time>.")


def _did_you_mean(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    return close[0] if close else ""


def load_settings_leniently(paths: Paths | None = None) -> tuple[Settings, list[FileNote]]:
    """The settings the window starts with: each value that cannot be used is replaced by its default and
    named in a note; an unreadable file gives the defaults and one note. Unknown keys (a typo, or a newer
    version's setting) are named and kept in the file (save_settings keeps them)."""
    paths = paths or app_paths()
    f = paths.settings_file
    try:
        settings = load_settings(paths)
    except SettingsError:
        pass
    else:
        return settings, _unknown_setting_notes(f, settings)
    where = str(f)
    try:
        data = read_json(f, "settings file", SettingsError, "")
    except SettingsError as exc:
        return Settings(), [FileNote(where, "", str(exc), "Every setting uses its default.", "unreadable")]
    if not isinstance(data, dict):
        return Settings(), [FileNote(where, "", f"The settings file {f} does not hold a JSON object.",
                                     "Every setting uses its default.", "unreadable")]
    good: dict[str, Any] = {}
    notes: list[FileNote] = []
    defaults = Settings()
    for key, value in data.items():
        if key not in _SETTING_KEYS:
            continue
        try:
            Settings.from_dict({key: value}, source=where)
        except SettingsError as exc:
            default = json.dumps(_jsonable(getattr(defaults, key)))
            notes.append(FileNote(where, key, str(exc), f"Until then the default is used: {default}."))
        else:
            good[key] = value
    settings = Settings.from_dict(good, source=where)
    return settings, notes + _unknown_setting_notes(f, settings, data)


_SETTING_KEYS = [f.name for f in fields(Settings)]


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _unknown_setting_notes(f: Path, settings: Settings, data: dict[str, Any] | None = None) -> list[FileNote]:
    if data is None:
        data = _json_object(f)
    notes = []
    for key in sorted(set(data) - set(_SETTING_KEYS)):
        near = _did_you_mean(key, _SETTING_KEYS)
        problem = (f"{f}: '{key}' is not a setting this version knows"
                   + (f" (did you mean '{near}'?)" if near else " (a typo, or a setting of a newer DataWrangler)")
                   + ".")
        instead = (f"Meanwhile '{near}' is used as {json.dumps(_jsonable(getattr(settings, near)))}. "
                   if near else "") + \
            f"'{key}' is kept in the file and not used" + (f": rename it to '{near}' to use it." if near else ".")
        notes.append(FileNote(str(f), key, problem, instead, "unknown"))
    return notes


def _json_object(path: Path) -> dict[str, Any]:
    """The file's JSON object; {} when it cannot be read or holds something else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _set_aside(path: Path, notes: Callable[[], list[FileNote]]) -> Path | None:
    """Before a save replaces a file the window could not use as written (a bad value, a preset skipped, not
    JSON at all), keep a copy beside it, <name>.bad-<date>-<time>: what the user wrote is never lost."""
    if not path.exists() or not any(n.sets_aside for n in notes()):
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.bad-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.bad-{stamp}-{n}")
    shutil.copy2(path, aside)
    log.warning("%s could not be used as written; kept as %s before saving over it", path, aside)
    return aside


def _write_json(path: Path, data: Any, sort_keys: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=sort_keys), encoding="utf-8")
    os.replace(tmp, path)


def save_settings(settings: Settings, paths: Paths | None = None) -> Path | None:
    """Write the settings; keys this version does not know stay in the file. A file that could not be used
    as written is first kept beside it (returned: settings.json.bad-<date>-<time>)."""
    paths = paths or app_paths()
    f = paths.settings_file
    aside = _set_aside(f, lambda: load_settings_leniently(paths)[1])
    known = set(_SETTING_KEYS)
    data = {k: v for k, v in _json_object(f).items() if k not in known}  # a newer version's settings stay
    data.update(settings.to_dict())
    _write_json(f, data)
    return aside


# -- Presets: one JSON file next to the settings, {"presets": [{...}, ...]} (core.presets.Preset fields).


def load_presets(paths: Paths | None = None) -> list[Preset]:
    """The presets (core.presets.Preset), in file order; [] without a file. SettingsError when unusable."""
    f = (paths or app_paths()).presets_file
    if not f.exists():
        return []
    items = json_list(read_json(f, "presets file", SettingsError, "Fix it or move it away."), "presets",
                      "presets file", f, SettingsError)
    try:
        presets = [Preset.from_dict(p, source=str(f)) for p in items]
    except PresetError as exc:
        raise SettingsError(str(exc)) from None
    names = [p.name for p in presets]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SettingsError(f"The presets file {f} names {', '.join(dupes)} more than once. Rename one.")
    return presets


def load_presets_leniently(paths: Paths | None = None) -> tuple[list[Preset], list[FileNote]]:
    """The presets the window starts with: a preset that cannot be used is skipped and named, the others
    load; an unknown key in a preset is named, kept in the file, and the preset loads without it."""
    f = (paths or app_paths()).presets_file
    if not f.exists():
        return [], []
    where = str(f)
    try:
        items = json_list(read_json(f, "presets file", SettingsError, ""), "presets", "presets file", f,
                          SettingsError)
    except SettingsError as exc:
        return [], [FileNote(where, "", str(exc), "No preset from it is used: the window starts with the "
                             "'Default' preset.", "unreadable")]
    presets, problems = lenient_presets(items, where)
    notes = [FileNote(where, p.preset, p.message, "That preset is skipped; the others load.", "preset")
             if p.skipped else FileNote(where, p.preset, p.message, "It is kept in the file and not used; the "
                                        "preset loads without it.", "unknown") for p in problems]
    return presets, notes


def save_presets(presets: list[Preset], paths: Paths | None = None) -> Path | None:
    """Write the presets; a key a preset had that this version does not know stays in it. A file that could
    not be used as written is first kept beside it (returned: presets.json.bad-<date>-<time>)."""
    paths = paths or app_paths()
    f = paths.presets_file
    aside = _set_aside(f, lambda: load_presets_leniently(paths)[1])
    unknown = _unknown_preset_keys(f)
    _write_json(f, {"presets": [{**unknown.get(p.name, {}), **p.to_dict()} for p in presets]}, sort_keys=False)
    return aside


def _unknown_preset_keys(path: Path) -> dict[str, dict[str, Any]]:
    """{preset name: {key: value}} of the keys the presets in the file have that Preset does not know."""
    items = _json_object(path).get("presets")
    known = {f.name for f in fields(Preset)}
    out: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            extra = {k: v for k, v in item.items() if k not in known}
            if extra:
                out.setdefault(item["name"], extra)
    return out


def find_preset(name: str, paths: Paths | None = None) -> Preset:
    presets = load_presets(paths)
    for p in presets:
        if p.name == name:
            return p
    known = ", ".join(repr(p.name) for p in presets) or "none"
    raise SettingsError(f"No preset named {name!r} (presets: {known}). Add it to "
                        f"{(paths or app_paths()).presets_file}.")
