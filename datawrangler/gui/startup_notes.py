"""What the window starts with when the settings or presets file cannot be used as written, and how it says so.

A DIT opening the window on set needs it now: a wrong value, a typo'd key or a broken preset must not stop
it (the command line, run by scripts, refuses instead). So the window starts with the default for each bad
value and without each broken preset, and says every one of them: the file, the key, what is wrong and what
is used instead, once in Messages each (the one message path) and together in a non-modal box that does not
keep anyone from working. The files themselves are not touched; the first save keeps a copy of a file it
would overwrite (config.save_settings / save_presets).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from datawrangler.config import FileNote, kept_sentence, load_presets_leniently, load_settings_leniently
from datawrangler.core.words import plural
from datawrangler.gui.messages import Messages
from datawrangler.gui.prefs import DEFAULT, GuiPrefs, Profile

__all__ = ["show_startup_notes", "startup_profile", "summary"]

TITLE = "Some settings could not be used"


def startup_profile() -> tuple[Profile, list[FileNote]]:
    """The profile the window starts with (file I/O: before the event loop runs), and what in the settings
    and presets files it could not use as written."""
    settings, notes = load_settings_leniently()
    presets, preset_notes = load_presets_leniently()
    return Profile(settings, tuple(presets) or (DEFAULT,), GuiPrefs.from_settings(settings)), notes + preset_notes


def summary(notes: Sequence[FileNote]) -> str:
    """One sentence for the banner: how many of what, and where each is said."""
    bad = sum(n.kind == "bad" for n in notes)
    unknown = sum(n.kind == "unknown" for n in notes)
    skipped = sum(n.kind == "preset" for n in notes)
    whole = sorted({n.file for n in notes if n.kind == "unreadable"})
    parts = [f"{f} cannot be read" for f in whole]
    if bad:
        parts.append(f"{plural(bad, 'setting')} with a wrong value (the default is used)")
    if skipped:
        parts.append(f"{plural(skipped, 'preset')} skipped")
    if unknown:
        parts.append(f"{plural(unknown, 'unknown key')} (not used, kept in the file)")
    return (f"{TITLE}: {'; '.join(parts)}. DataWrangler started with the defaults for them; each is listed in "
            "Messages with its file, key and what to do.")


def details(notes: Sequence[FileNote]) -> str:
    """Every note, grouped by file, then what happens to each file that could not be used as written."""
    lines: list[str] = []
    for file in dict.fromkeys(n.file for n in notes):
        if lines:
            lines.append("")
        lines.append(f"{file}:")
        mine = [n for n in notes if n.file == file]
        lines += [f"  • {n.text.removeprefix(file + ': ')}" for n in mine]  # the file is the heading
        if any(n.sets_aside for n in mine):
            lines.append(f"  {kept_sentence(file)}")
    return "\n".join(lines)


def show_startup_notes(parent: QWidget, messages: Messages, notes: Sequence[FileNote]) -> QMessageBox | None:
    """Say each note in Messages, then all of them in a non-modal box over the window (returned; None when
    there is nothing to say). The summary is posted last, so the banner shows it."""
    if not notes:
        return None
    for n in notes:
        messages.warning(n.text, "settings")
    messages.warning(summary(notes), "settings")
    box = QMessageBox(QMessageBox.Icon.Warning, TITLE, summary(notes), QMessageBox.StandardButton.Ok, parent)
    box.setInformativeText(details(notes))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # a path to copy into a terminal
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box
