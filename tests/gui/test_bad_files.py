"""Settings and preset files with wrong types, wrong values, unknown keys or broken entries: the window still
starts, with the default for each bad value and without each broken preset, and names the file, the key,
what is wrong and what is used instead. The user's files are never overwritten silently: a typo'd key stays
in the file, and the first save keeps a byte-for-byte copy of a file it could not use as written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datawrangler.config import FileNote, Settings, app_paths, load_settings, save_presets, save_settings
from datawrangler.core.presets import Preset
from datawrangler.gui.messages import Level, Messages
from datawrangler.gui.startup_notes import TITLE, show_startup_notes, startup_profile

REPO = Path(__file__).resolve().parents[2]

SETTINGS = {
    "retries": "two",  # a wrong type
    "verify_mode": "fast",  # a wrong value
    "copies_required": 3,  # good: kept
    "operator": "Jo",  # good: kept
    "verfy_mode": "size",  # a typo: named, kept in the file, not used
}
PRESETS = {"presets": [
    {"name": "Main", "template": "{date}/{card}", "project": "Nightfall", "thumbnals": 3},  # a typo'd key
    {"name": "Broken", "thumbnails": 2},  # a wrong value: skipped
    {"name": "Sound", "template": "Sound/{reel}", "camera": "S"},
]}


def _write(path: Path, data: object) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = (data if isinstance(data, str) else json.dumps(data, indent=1)).encode()
    path.write_bytes(raw)
    return raw


def _aside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.bad-*"))


# The real window in its own process, as a user starts it (`datawrangler` with no command): it opens, the
# driver reads what it says, then closes it as a user would (which saves the settings).
DRIVER = r"""
import json, sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from datawrangler.cli import main
from datawrangler.gui.app import make_app

app = make_app(["datawrangler"])
t0 = time.monotonic()

def poll():
    tops = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    windows = [w for w in tops if type(w).__name__ == "MainWindow"]
    boxes = [w for w in tops if isinstance(w, QMessageBox)]
    if windows and boxes:
        c = windows[0].c
        print(json.dumps({
            "box": [b.windowTitle() for b in boxes], "box_text": boxes[0].text(),
            "box_details": boxes[0].informativeText(), "banner": windows[0].banner.text(),
            "messages": [[m.level.value, m.code, m.text] for m in c.messages.history],
            "presets": [p.name for p in c.profile.presets], "project": c.profile.preset.project,
            "retries": c.profile.settings.retries, "verify_mode": c.profile.settings.verify_mode,
            "copies_required": c.profile.settings.copies_required, "operator": c.profile.settings.operator,
        }), flush=True)
        for b in boxes:
            b.close()
        windows[0].close()
    elif time.monotonic() - t0 > 60:
        print(json.dumps({"timeout": True, "tops": [type(w).__name__ for w in tops]}), flush=True)
        sys.exit(3)
    else:
        QTimer.singleShot(100, poll)

QTimer.singleShot(100, poll)
sys.exit(main([]))
"""


def test_the_window_starts_with_bad_settings_and_presets_and_names_each(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings_raw = _write(home / "config" / "settings.json", SETTINGS)
    presets_raw = _write(home / "config" / "presets.json", PRESETS)
    env = {**os.environ, "DATAWRANGLER_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    p = subprocess.run([sys.executable, "-c", DRIVER], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    seen = json.loads(p.stdout.strip().splitlines()[-1])
    assert "timeout" not in seen, seen
    # it started, with the good values kept and the defaults for the bad ones
    assert (seen["retries"], seen["verify_mode"]) == (2, "full")
    assert (seen["copies_required"], seen["operator"]) == (3, "Jo")
    assert seen["presets"] == ["Main", "Sound"] and seen["project"] == "Nightfall"
    # each is said with the file, the key, what is wrong and what is used instead
    settings_file = str(home / "config" / "settings.json")
    said = [text for level, code, text in seen["messages"] if level == "warning" and code == "settings"]
    retries = next(t for t in said if "'retries'" in t)
    assert settings_file in retries and "must be a whole number, not 'two'" in retries
    assert "the default is used: 2" in retries
    mode = next(t for t in said if "'verify_mode' must be" in t)
    assert "(got 'fast')" in mode and 'the default is used: "full"' in mode and settings_file in mode
    typo = next(t for t in said if "'verfy_mode'" in t)
    assert "did you mean 'verify_mode'?" in typo and "kept in the file and not used" in typo
    broken = next(t for t in said if "'Broken'" in t)
    assert "'thumbnails' must be 0, 1 or 3" in broken and "That preset is skipped; the others load." in broken
    assert str(home / "config" / "presets.json") in broken
    assert any("'thumbnals'" in t and "did you mean 'thumbnails'?" in t for t in said)
    # the banner and the box say it too, without keeping anyone from working
    assert seen["box"] == [TITLE] and TITLE in seen["banner"]
    assert "2 settings with a wrong value" in seen["box_text"] and "1 preset skipped" in seen["box_text"]
    assert "'retries'" in seen["box_details"] and "settings.json.bad-<date>-<time>" in seen["box_details"]
    # quitting saved the settings: the user's files were first kept, byte for byte
    (settings_aside,) = _aside(home / "config" / "settings.json")
    (presets_aside,) = _aside(home / "config" / "presets.json")
    assert settings_aside.read_bytes() == settings_raw and presets_aside.read_bytes() == presets_raw
    saved = json.loads((home / "config" / "settings.json").read_text())
    assert saved["verfy_mode"] == "size", "a key this version does not know stays in the file"
    assert (saved["retries"], saved["operator"], saved["copies_required"]) == (2, "Jo", 3)
    presets = json.loads((home / "config" / "presets.json").read_text())["presets"]
    assert [x["name"] for x in presets] == ["Main", "Sound"] and presets[0]["thumbnals"] == 3
    assert "Traceback" not in p.stderr


_PARENTS: list[object] = []  # the box's parent lives as long as the test (a deleted parent deletes the box)


def _profile_and_box(qtbot: object) -> tuple[Any, list[FileNote], Messages, Any]:
    """What main() does before the loop runs: the profile, then the notes said over a window."""
    from PySide6.QtWidgets import QWidget

    profile, notes = startup_profile()
    messages = Messages()
    parent = QWidget()
    qtbot.addWidget(parent)  # type: ignore[attr-defined]
    _PARENTS[:] = [parent]
    box = show_startup_notes(parent, messages, notes)
    if box is not None:
        qtbot.addWidget(box)  # type: ignore[attr-defined]
    return profile, notes, messages, box


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "", '{"retries": 2,}'])
def test_a_settings_file_that_is_not_settings_at_all(qtbot: object, text: str) -> None:
    f = app_paths().settings_file
    raw = _write(f, text)
    profile, notes, _messages, box = _profile_and_box(qtbot)
    assert profile.settings == Settings()
    (note,) = notes
    assert note.kind == "unreadable" and str(f) in note.text and "Every setting uses its default." in note.text
    assert box is not None and box.isVisible() and not box.isModal()
    assert f.read_bytes() == raw, "starting must not touch the file"
    aside = save_settings(Settings(operator="Jo"))
    assert aside is not None and aside.read_bytes() == raw and _aside(f) == [aside]
    assert load_settings().operator == "Jo"
    box.close()


def test_a_presets_file_that_cannot_be_read_starts_with_the_default_preset(qtbot: object) -> None:
    f = app_paths().presets_file
    raw = _write(f, '{"presets": {"name": "Main"}}')  # a JSON object where the list should be
    profile, notes, messages, box = _profile_and_box(qtbot)
    assert [p.name for p in profile.presets] == ["Default"]
    (note,) = notes
    assert str(f) in note.text and "'presets' list" in note.text and "'Default' preset" in note.text
    assert [m.text for m in messages.history][-1].startswith(TITLE)
    assert all(m.level is Level.WARNING and m.code == "settings" for m in messages.history)
    assert save_presets([Preset("Main")]) is not None and _aside(f)[0].read_bytes() == raw
    box.close()


def test_unknown_keys_alone_are_named_and_kept_and_no_copy_is_made(qtbot: object) -> None:
    """A typo or a newer version's key is not a bad file: it is named, and a save keeps it in place."""
    f = app_paths().settings_file
    _write(f, {"copies_required": 3, "copies_requred": 4, "cloud_sync": {"on": True}})
    profile, notes, messages, box = _profile_and_box(qtbot)
    assert profile.settings.copies_required == 3
    typo, newer = sorted(notes, key=lambda n: n.key)[::-1]
    assert typo.key == "copies_requred" and "did you mean 'copies_required'?" in typo.text
    assert "Meanwhile 'copies_required' is used as 3" in typo.text and "rename it to 'copies_required'" in typo.text
    assert newer.key == "cloud_sync" and "a setting of a newer DataWrangler" in newer.text
    assert "2 unknown keys (not used, kept in the file)" in messages.history[-1].text
    assert save_settings(profile.settings) is None and _aside(f) == []
    saved = json.loads(f.read_text())
    assert saved["copies_requred"] == 4 and saved["cloud_sync"] == {"on": True} and saved["copies_required"] == 3
    box.close()


def test_good_files_say_nothing_and_are_not_copied(qtbot: object) -> None:
    save_settings(Settings(operator="Jo", retries=4))
    save_presets([Preset("Main", project="Nightfall")])
    profile, notes, messages, box = _profile_and_box(qtbot)
    assert notes == [] and box is None and not messages.history
    assert profile.settings.retries == 4 and profile.preset.project == "Nightfall"
    save_settings(profile.settings)
    save_presets(list(profile.presets))
    assert not _aside(app_paths().settings_file) and not _aside(app_paths().presets_file)


def test_every_broken_preset_is_named_and_the_good_ones_load(qtbot: object) -> None:
    _write(app_paths().presets_file, {"presets": [
        {"name": "A", "verify_mode": "quick"}, {"template": "{reel}"}, "not a preset",
        {"name": "B", "project": "Nightfall"}, {"name": "B", "project": "Other"}, {"name": "C", "day": "3"}]})
    profile, notes, messages, box = _profile_and_box(qtbot)
    assert [(p.name, p.project) for p in profile.presets] == [("B", "Nightfall")]
    said = {n.key: n.text for n in notes}
    assert set(said) == {"A", "entry 2", "entry 3", "B", "C"} and all(n.kind == "preset" for n in notes)
    assert "'verify_mode' must be full, destinations or size" in said["A"]
    assert "needs a 'name'" in said["entry 2"] and "(entry 2 of the list)" in said["entry 2"]
    assert "must be a JSON object" in said["entry 3"]
    assert "used by an earlier preset too (entry 5 of the list)" in said["B"]
    assert "'day' must be a whole number" in said["C"]
    assert "5 presets skipped" in messages.history[-1].text
    box.close()


def test_the_settings_saved_from_the_window_keep_the_bad_file_aside(env: Callable, qtbot: object) -> None:
    """The Settings tab's Save (through the controller, on a worker) is a save like quitting: the file the
    window could not use is kept beside the new one before it is replaced."""
    f = app_paths().settings_file
    raw = _write(f, {"queue_depth": 0, "production": "Nightfall"})
    profile, notes, _messages, box = _profile_and_box(qtbot)
    assert [n.key for n in notes] == ["queue_depth"] and "must be between 1 and 64 (got 0)" in notes[0].text
    e = env(profile)
    e.controller.apply_profile(profile, say="saved")
    e.wait(lambda: bool(_aside(f)))
    e.wait(lambda: load_settings().queue_depth == 4)
    assert _aside(f)[0].read_bytes() == raw
    assert load_settings().production == "Nightfall"
    box.close()
