"""The window around the flows: one message path (known conditions vs bugs), settings validation with the
live example, the profile (last preset, geometry) remembered, the demo card, the CLI entry."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler.config import load_presets
from datawrangler.core.errors import Code, OffloadError
from datawrangler.gui.demo import build_demo
from datawrangler.gui.messages import Level
from datawrangler.gui.prefs import GuiPrefs, load_profile
from datawrangler.gui.theme import Status


def test_known_condition_is_a_message_and_a_bug_is_a_crash_report(env: Callable, profile_with: Callable) -> None:
    e = env(profile_with())

    def refused() -> None:
        raise OffloadError(Code.NO_SPACE, "Not enough free space on SHUTTLE_A. Free space or choose a larger drive.")

    def bug() -> None:
        raise ZeroDivisionError("a bug")

    e.bridge.run(refused)
    e.wait(lambda: any(m.code == "no_space" for m in e.messages.history))
    msg = next(m for m in e.messages.history if m.code == "no_space")
    assert msg.level is Level.ERROR and e.window.banner.isVisible() and "ERROR" in e.window.banner.text()
    assert not e.crashes
    e.bridge.run(bug)
    e.wait(lambda: bool(e.crashes))
    assert "ZeroDivisionError: a bug" in e.crashes[0]
    e.crashes.clear()  # expected here; Env.close() fails a test that leaves one


def test_settings_validate_with_messages_and_show_the_path(env: Callable, profile_with: Callable,
                                                          dest_dirs: Callable) -> None:
    d1, _ = dest_dirs(2)
    e = env(profile_with([d1]))
    s = e.window.settings
    s.template.setText("{date}/{nope}")
    assert "Unknown token {nope}" in s.errors["template"].text() and not s.save_btn.isEnabled()
    s.template.setText("{date}/{camera}:{reel}")
    assert "':'" in s.errors["template"].text() or ":" in s.errors["template"].text()
    s.template.setText("{project}/{date}/{card}")
    s.production.setText("Nightfall")
    assert s.errors["template"].isHidden() and s.save_btn.isEnabled()
    assert s.example.text().startswith("Example: " + str(d1) + "/Nightfall/")
    assert "A001R2EC" in s.example.text()
    for cb in s.algs.values():
        cb.setChecked(False)
    assert "at least one hash" in s.errors["algorithms"].text() and not s.save_btn.isEnabled()
    s.algs["xxh64"].setChecked(True)
    s.algs["md5"].setChecked(True)
    s.verify.setCurrentText("size")
    assert "no card will ever be safe to format" in s.errors["verify_mode"].text()
    s.verify.setCurrentText("full")
    assert s.awake.isChecked(), "keep-awake is on by default"
    s.awake.setChecked(False)
    assert s.save()
    e.wait(lambda: any(m.text == "Settings saved." for m in e.messages.history))
    saved = load_presets()
    assert saved[0].template == "{project}/{date}/{card}" and saved[0].algorithms == ("xxh64", "md5")
    assert saved[0].keep_awake is False and e.controller.preset.keep_awake is False
    assert load_profile().preset.project == "Nightfall"


def test_last_preset_and_geometry_are_remembered(env: Callable, profile_with: Callable, dest_dirs: Callable) -> None:
    e = env(profile_with(dest_dirs(1)))
    e.window.settings.add_preset("Second unit")
    e.wait(lambda: any("Second unit" in m.text for m in e.messages.history))
    e.window.resize(1234, 777)
    geo = e.window.geometry_text()
    prof = dataclasses.replace(e.controller.profile, gui=dataclasses.replace(e.controller.profile.gui, geometry=geo))
    from datawrangler.gui.prefs import save_profile

    save_profile(prof)  # what main() does once the event loop has ended
    again = load_profile()
    assert again.preset.name == "Second unit" and again.gui.geometry == geo
    assert GuiPrefs.from_settings(again.gui.into(again.settings)) == again.gui


def test_demo_card_is_recognised_and_offloads(env: Callable, profile_with: Callable, tmp_path: Path) -> None:
    setup = build_demo(tmp_path / "demo", size_mb=20)
    e = env(profile_with(setup.destinations))
    e.window.notifier.sound = False
    e.controller.add_source(str(setup.card))
    e.wait(lambda: e.card(setup.card).status is Status.NEW)
    info = e.card(setup.card).info
    assert (info.vendor, info.reel, info.clips) == ("ARRI", "A001", 6)
    item = e.controller.enqueue(str(setup.card))
    e.wait(lambda: item.status in (Status.VERIFIED, Status.SAFE, Status.FAILED))
    assert item.outcome.result.files_verified == info.files and item.outcome.result.files_failed == 0


def test_cli_registers_gui_and_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    from datawrangler.cli import gui_cmds

    p = argparse.ArgumentParser()
    gui_cmds.register(p.add_subparsers(dest="command"))
    args = p.parse_args(["demo", "--size", "50", "--start"])
    calls: list[tuple] = []
    import datawrangler.gui.app as app

    monkeypatch.setattr(app, "main", lambda argv, **kw: calls.append((argv, kw)) or 0)
    assert args.func(args) == 0 and calls[-1] == (["datawrangler"], {"demo": True, "demo_size": 50, "start": True,
                                                                     "quit_when_done": False})
    assert gui_cmds.run_default(argparse.Namespace(catalog="/x.sqlite")) == 0
    assert calls[-1] == (["datawrangler", "--catalog", "/x.sqlite"], {})


def test_the_app_is_tied_to_its_desktop_file(qapp: object) -> None:
    """Docks (Wayland, and the launcher-entry progress) find the running window by its desktop file name."""
    from datawrangler.gui.app import make_app

    app = make_app(["test"])
    assert app.desktopFileName() == "datawrangler"
    root = Path(__file__).resolve().parents[2]
    assert (root / "packaging" / "linux" / f"{app.desktopFileName()}.desktop").is_file()


def test_demo_offloads_through_the_window_and_quits_when_done(tmp_path: Path) -> None:
    """The installed command end to end: the demo card, offloaded by the window's worker process, verified;
    --quit-when-done then closes it with exit code 0."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DATAWRANGLER_HOME"}  # the demo makes its own home
    env.update(QT_QPA_PLATFORM="offscreen", TMPDIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "datawrangler", "demo", "--size", "20", "--start",
                           "--quit-when-done"], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "every offload ended (all verified)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("datawrangler-demo")], \
        "the demo left its card, drives or home behind"
