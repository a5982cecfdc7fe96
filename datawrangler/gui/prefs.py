"""The window's profile: the settings, the presets (core.presets.Preset, in presets.json) and what only
the window needs (the last preset, each drive's role, sound), kept in Settings.extra["gui"].

Loaded once before the window opens (main) and saved through the bridge: the GUI thread does no file I/O.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from datawrangler.config import Settings, load_presets, load_settings, save_presets, save_settings
from datawrangler.core.presets import Preset, PresetError, TemplateError, check_template

ROLES = ("primary", "backup", "shuttle")
DEFAULT = Preset("Default", template="{date}/{card}")


@dataclass(frozen=True)
class GuiPrefs:
    last_preset: str = ""
    sound: bool = True
    roles: tuple[tuple[str, str], ...] = ()  # (destination root, role)
    geometry: str = ""  # the window's saved geometry (base64)
    mount_roots_are_folders: bool = False  # cards appear as plain folders in the roots (no mounts)

    def role(self, path: str) -> str:
        return dict(self.roles).get(path, "backup")

    def with_role(self, path: str, role: str) -> GuiPrefs:
        roles = dict(self.roles)
        roles[path] = role
        return replace(self, roles=tuple(sorted(roles.items())))

    @classmethod
    def from_settings(cls, settings: Settings) -> GuiPrefs:
        data = settings.extra.get("gui") if isinstance(settings.extra, dict) else None
        if not isinstance(data, dict):
            return cls()
        raw = data.get("roles")
        roles: dict = raw if isinstance(raw, dict) else {}
        return cls(str(data.get("last_preset") or ""), bool(data.get("sound", True)),
                   tuple(sorted((str(k), str(v)) for k, v in roles.items() if v in ROLES)),
                   str(data.get("geometry") or ""), bool(data.get("mount_roots_are_folders", False)))

    def into(self, settings: Settings) -> Settings:
        extra = dict(settings.extra) if isinstance(settings.extra, dict) else {}
        extra["gui"] = {"last_preset": self.last_preset, "sound": self.sound, "roles": dict(self.roles),
                        "geometry": self.geometry, "mount_roots_are_folders": self.mount_roots_are_folders}
        return replace(settings, extra=extra)


@dataclass(frozen=True)
class Profile:
    settings: Settings = field(default_factory=Settings)
    presets: tuple[Preset, ...] = (DEFAULT,)
    gui: GuiPrefs = field(default_factory=GuiPrefs)

    @property
    def preset(self) -> Preset:
        for p in self.presets:
            if p.name == self.gui.last_preset:
                return p
        return self.presets[0] if self.presets else DEFAULT

    def with_preset(self, preset: Preset, select: bool = True) -> Profile:
        """Replace the preset of that name (or add it); select it."""
        names = [p.name for p in self.presets]
        presets = tuple(preset if p.name == preset.name else p for p in self.presets) if preset.name in names \
            else (*self.presets, preset)
        gui = replace(self.gui, last_preset=preset.name) if select else self.gui
        return replace(self, presets=presets, gui=gui)

    def without_preset(self, name: str) -> Profile:
        presets = tuple(p for p in self.presets if p.name != name) or (DEFAULT,)
        return replace(self, presets=presets, gui=replace(self.gui, last_preset=presets[0].name))

    def select(self, name: str) -> Profile:
        return replace(self, gui=replace(self.gui, last_preset=name))


def load_profile() -> Profile:
    """Settings, presets and window prefs from the config folder (file I/O: at startup or on a worker)."""
    settings = load_settings()
    presets = tuple(load_presets()) or (DEFAULT,)
    return Profile(settings, presets, GuiPrefs.from_settings(settings))


def save_profile(profile: Profile) -> Profile:
    for p in profile.presets:
        p.validate()
    save_settings(profile.gui.into(profile.settings))
    save_presets(list(profile.presets))
    return profile


def check(profile: Profile) -> dict[str, str]:
    """{field: message} for what cannot be saved as it is; {} when valid."""
    out: dict[str, str] = {}
    p = profile.preset
    try:
        check_template(p.template)
    except TemplateError as exc:
        out["template"] = str(exc)
    try:
        p.validate()
    except PresetError as exc:
        text = str(exc)
        key = next((k for k in ("verify_mode", "copies_required", "'rule'", "algorithms", "handoff", "day",
                                "camera", "auto") if k in text), "stage2" if "stage" in text else "preset")
        out.setdefault("template" if "template" in text else key.strip("'"), text.split(": ", 1)[-1])
    names = [x.name for x in profile.presets]
    if len(set(names)) != len(names):
        out["preset"] = "Two presets share a name: rename one."
    if any(not n.strip() for n in names):
        out["preset"] = "A preset needs a name."
    roots = [os.path.normpath(d) for d in p.destinations]
    if len(set(roots)) != len(roots):
        out["destinations"] = "A drive is listed twice in this preset: one folder is one copy."
    stage2 = [os.path.normpath(d) for d in p.stage2]
    both = [d for d in stage2 if d in roots]
    if stage2 and not roots:
        out["stage2"] = ("Stage 2 copies from a verified stage-1 copy: add a destination under Destinations "
                         "first.")
    elif both:
        out["stage2"] = (f"{both[0]} is both a destination and a stage-2 destination: keep it in one list (stage 2 "
                         "copies from the destinations).")
    elif len(set(stage2)) != len(stage2):
        out["stage2"] = "A drive is listed twice as a stage-2 destination: one folder is one copy."
    bad = [x for x in profile.settings.ignore if "/" in x]
    if bad:
        out["ignore"] = f"Ignore patterns match names, not paths: remove the '/' from {bad[0]!r}."
    return out
