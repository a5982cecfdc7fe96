"""Settings declared once, with typed defaults, in one JSON file in the user config directory.

`DATAWRANGLER_HOME` moves everything (settings, catalog, logs, reports) to one folder: tests and scripts
use it. Paths otherwise come from platformdirs.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from datawrangler.core.events import VerifyMode
from datawrangler.core.hashing import ALGORITHMS
from datawrangler.core.presets import Preset, PresetError
from datawrangler.core.scan import DEFAULT_IGNORE
from datawrangler.core.typed import field_values, json_list, read_json

__all__ = ["DEFAULT_IGNORE", "HOME_ENV", "Paths", "Settings", "SettingsError", "app_paths", "find_preset",
           "load_presets", "load_settings", "save_presets", "save_settings"]

APP = "DataWrangler"
HOME_ENV = "DATAWRANGLER_HOME"


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


class SettingsError(ValueError):
    """The settings file cannot be used as it is; the message says which key and what to do."""


_FIX_KEY = "Fix the file or delete the key to use the default."


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
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Values, not only types: a wrong one is named with what to do, when the settings are read."""
        def fail(key: str, why: str) -> None:
            raise SettingsError(f"settings: '{key}' {why}. {_FIX_KEY}")

        unknown = [a for a in self.algorithms if a not in ALGORITHMS]
        if unknown or not self.algorithms:
            fail("algorithms", f"must name one or more of {', '.join(ALGORITHMS)} (got {list(self.algorithms)})")
        if self.verify_mode not in {m.value for m in VerifyMode}:
            fail("verify_mode", f"must be full, destinations or size (got {self.verify_mode!r})")
        if self.report_paper not in ("a4", "letter"):
            fail("report_paper", f"must be a4 or letter (got {self.report_paper!r})")
        for key, low, high in (("copies_required", 1, 10), ("retries", 0, 10), ("read_retries", 0, 20),
                               ("chunk_mib", 1, 256), ("queue_depth", 1, 64)):
            value = getattr(self, key)
            if not low <= value <= high:
                fail(key, f"must be between {low} and {high} (got {value})")

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "settings") -> Settings:
        """Settings of a newer version (unknown keys) are kept in the file and ignored here."""
        return cls(**field_values(cls, data, source, SettingsError, fix=_FIX_KEY, unknown="ignore"))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
        return out


def load_settings(paths: Paths | None = None) -> Settings:
    paths = paths or app_paths()
    f = paths.settings_file
    if not f.exists():
        return Settings()
    data = read_json(f, "settings file", SettingsError, "Fix it or move it away to start with the defaults.")
    if not isinstance(data, dict):
        raise SettingsError(f"The settings file {f} does not hold a JSON object. Fix it or move it away.")
    return Settings.from_dict(data, source=str(f))


def save_settings(settings: Settings, paths: Paths | None = None) -> None:
    paths = paths or app_paths()
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    data = _unknown_keys(paths.settings_file)  # a newer version's settings stay in the file
    data.update(settings.to_dict())
    tmp = paths.settings_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, paths.settings_file)


def _unknown_keys(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    known = {f.name for f in fields(Settings)}
    return {k: v for k, v in data.items() if k not in known}


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


def save_presets(presets: list[Preset], paths: Paths | None = None) -> None:
    paths = paths or app_paths()
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    tmp = paths.presets_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"presets": [p.to_dict() for p in presets]}, indent=2), encoding="utf-8")
    os.replace(tmp, paths.presets_file)


def find_preset(name: str, paths: Paths | None = None) -> Preset:
    presets = load_presets(paths)
    for p in presets:
        if p.name == name:
            return p
    known = ", ".join(repr(p.name) for p in presets) or "none"
    raise SettingsError(f"No preset named {name!r} (presets: {known}). Add it to "
                        f"{(paths or app_paths()).presets_file}.")
