"""The Settings tab's clip options: reading clips, thumbnails per clip, and the editorial handoff files, saved
into the preset that the window's offloads are made from."""

from __future__ import annotations

from collections.abc import Callable

from datawrangler.app.clips import ClipOptions
from datawrangler.app.request import from_preset
from datawrangler.config import load_presets


def test_clip_options_are_saved_into_the_preset_and_reach_the_request(env: Callable, profile_with: Callable,
                                                                       dest_dirs: Callable) -> None:
    e = env(profile_with(dest_dirs(1)))
    s = e.window.settings
    assert s.clips.isChecked() and s.thumbs.isEnabled(), "clips are read by default"
    s.thumbs.setCurrentText("3 thumbnails per clip")
    s.handoff["ale"].setChecked(True)
    s.handoff["clip_csv"].setChecked(True)
    assert s.save()
    e.wait(lambda: any(m.text == "Settings saved." for m in e.messages.history))
    saved = load_presets()[0]
    assert saved.clips and saved.thumbnails == 3 and {"ale", "clip_csv"} <= set(saved.handoff)
    req = from_preset("/media/A001", saved, e.controller.profile.settings)
    assert req.clips == ClipOptions(3) and req.handoff is not None and req.handoff.ale and req.handoff.clip_csv

    s.clips.setChecked(False)
    assert not s.thumbs.isEnabled()
    e.messages.history.clear()
    assert s.save()
    e.wait(lambda: any(m.text == "Settings saved." for m in e.messages.history))
    saved = load_presets()[0]
    assert saved.clips is False
    assert from_preset("/media/A001", saved, e.controller.profile.settings).clips is None
