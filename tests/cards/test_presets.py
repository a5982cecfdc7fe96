"""Naming templates and presets: tokens, safe names, clear errors, persistence in the config folder."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from datawrangler.config import SettingsError, app_paths, find_preset, load_presets, save_presets
from datawrangler.core.cards import CardInfo
from datawrangler.core.presets import (
    TOKENS,
    Preset,
    PresetError,
    TemplateError,
    card_tokens,
    render_template,
    safe_part,
)

VALUES = {"project": "Night Shoot", "date": "2023-10-14", "day": 3, "camera": "A", "reel": "A001",
          "card": "A001R2EC", "label": "A001R2EC", "vendor": "ARRI", "counter": 1, "media": "camera"}


@pytest.mark.parametrize(("template", "expected"), [
    ("{reel}", "A001"),
    ("{date}/{reel}", "2023-10-14/A001"),
    ("{project}_Day{day}/{camera}/{card}", "Night_Shoot_Day03/A/A001R2EC"),
    ("{camera}{counter}", "A001"),
    ("{camera}{counter:04d}_{vendor}_{media}", "A0001_ARRI_camera"),
    ("D{day:03d}-{label}", "D003-A001R2EC"),
])
def test_render(template: str, expected: str) -> None:
    assert render_template(template, VALUES) == expected


def test_every_token_renders() -> None:
    out = render_template("_".join("{" + t + "}" for t in TOKENS), VALUES)
    assert out == "Night_Shoot_2023-10-14_03_A_A001_A001R2EC_A001R2EC_ARRI_001_camera"


def test_values_become_netflix_safe_names() -> None:
    values = {**VALUES, "project": 'Étoile: "Le Film" 2/3?', "label": "CARD*<1>|"}
    name = render_template("{project}/{label}", values)
    assert name == "Etoile_Le_Film_2_3/CARD_1"
    for part in name.split("/"):
        assert all(c.isascii() and (c.isalnum() or c in "._-") for c in part)
    assert safe_part("Ça va? ok") == "Ca_va_ok"


def test_an_empty_token_leaves_no_stray_separator() -> None:
    assert render_template("{project}_{reel}", {**VALUES, "project": None}) == "A001"
    assert render_template("{date}/{project}-{reel}", {**VALUES, "project": ""}) == "2023-10-14/A001"


@pytest.mark.parametrize(("template", "message"), [
    ("{reel}/{scene}", "Unknown token {scene}"),
    ("{reel} card", "may only use letters, digits"),
    ("{reel}:{date}", "may only use letters, digits"),
    ("", "empty"),
    ("/{reel}", "empty folder name"),
    ("{date}//{reel}", "empty folder name"),
    ("{reel!r}", "conversions are not supported"),
    ("{vendor:>5}", "only {counter} and {day} take a number format"),
    ("{reel", "not valid"),
])
def test_bad_templates_are_refused_with_a_reason(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as exc:
        render_template(template, VALUES)
    assert message in str(exc.value)


def test_a_template_that_names_an_empty_folder_says_which_token() -> None:
    with pytest.raises(TemplateError, match=r"no value for \{project\}"):
        render_template("{project}/{reel}", {**VALUES, "project": None})


def _card(**kw: object) -> CardInfo:
    base = dict(root="/media/A001R2EC", vendor="ARRI", family="ALEXA / AMIRA", media="camera", rule="arri",
                camera_letter="A", reel="A001", card_id="A001R2EC", clip_count=3, first_clip="A001C001",
                last_clip="A001C003", clip_date="231014", file_count=4, total_bytes=10, fingerprint="f" * 64,
                label="A001R2EC")
    base.update(kw)
    return CardInfo(**base)  # type: ignore[arg-type]


def test_card_tokens() -> None:
    preset = Preset("day", project="Night Shoot", day=4)
    tokens = card_tokens(preset, _card(), reel="A001", counter=1, when=dt.date(2023, 10, 14))
    assert render_template("{project}/D{day}/{card}_{vendor}_{media}_{date}", tokens) == (
        "Night_Shoot/D04/A001R2EC_ARRI_camera_2023-10-14")
    # a card named by the counter: {card} follows the reel the counter gave
    m4 = _card(vendor="Sony", reel=None, card_id=None, camera_letter=None)
    tokens = card_tokens(preset, m4, reel="B007", counter=7)
    assert render_template("{camera}/{card}/{counter}", tokens) == "B/B007/007"
    assert preset.camera_for(m4) == "A"
    assert preset.camera_for(_card(media="sound", camera_letter=None)) == "S"


def test_preset_roundtrip_through_the_presets_file() -> None:
    presets = [Preset("Main unit", destinations=("/Volumes/RAID", "/Volumes/Shuttle"), template="{date}/{card}",
                      algorithms=("xxh64", "md5"), auto_offload=True, eject_after=True, project="NS", day=2),
               Preset("Sound", destinations=("/Volumes/RAID",), template="Sound/{reel}", camera="S")]
    save_presets(presets)
    assert load_presets() == presets
    assert find_preset("Sound") == presets[1]
    with pytest.raises(SettingsError, match=r"No preset named 'B unit'.*'Main unit', 'Sound'"):
        find_preset("B unit")


def test_no_presets_file_means_no_presets() -> None:
    assert load_presets() == []


@pytest.mark.parametrize(("entry", "message"), [
    ({"name": "x", "template": "{scene}"}, "preset 'x': Unknown token {scene}"),
    ({"name": "x", "algorithms": ["crc"]}, "Unknown hash algorithm 'crc'"),
    ({"name": "x", "verify_mode": "fast"}, "'verify_mode' must be full, destinations or size"),
    ({"name": "x", "copies_required": "2"}, "'copies_required' must be a whole number"),
    ({"name": "x", "auto_offload": "yes"}, "'auto_offload' must be true or false"),
    ({"name": "x", "auto_offload": True}, "auto-offload needs at least one destination"),
    ({"name": "x", "handoff": ["pdf"]}, "unknown handoff file kind(s) pdf"),
    ({"name": "x", "handoff": ["md5sum"]}, "the md5sum handoff list needs md5 among the 'algorithms'"),
    ({"name": "x", "camera": "ab"}, "'camera' must be one capital letter"),
    ({"name": "x", "destination": ["/a"]}, "unknown field(s) destination"),
    ({"template": "{reel}"}, "every preset needs a 'name'"),
    ({"name": "x", "day": "3"}, "'day' must be a whole number"),
])
def test_a_broken_preset_is_refused_with_a_clear_message(entry: dict, message: str) -> None:
    paths = app_paths()
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    paths.presets_file.write_text(json.dumps({"presets": [entry]}))
    with pytest.raises(SettingsError) as exc:
        load_presets()
    assert message in str(exc.value)
    assert str(paths.presets_file) in str(exc.value)


def test_duplicate_names_and_a_broken_file(tmp_path: Path) -> None:
    paths = app_paths()
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    paths.presets_file.write_text(json.dumps({"presets": [{"name": "a"}, {"name": "a"}]}))
    with pytest.raises(SettingsError, match="names a more than once"):
        load_presets()
    paths.presets_file.write_text("{not json")
    with pytest.raises(SettingsError, match="cannot be read"):
        load_presets()
    paths.presets_file.write_text("[]")
    with pytest.raises(SettingsError, match="'presets' list"):
        load_presets()


def test_preset_validation_without_a_file() -> None:
    with pytest.raises(PresetError, match="'verify_mode'"):
        Preset("x", verify_mode="quick").validate()
