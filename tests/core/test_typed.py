"""The one typed loader behind the settings, the presets and the card rules: file, field, what it must be."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from datawrangler.core.typed import field_values, json_list, read_json


class Bad(ValueError):
    pass


@dataclass(frozen=True)
class Thing:
    names: tuple[str, ...] = ()
    on: bool = False
    count: int = 1
    day: int | None = None
    share: float = 0.5
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def test_values_are_checked_against_the_field_types() -> None:
    got = field_values(Thing, {"names": ["a"], "on": True, "count": 3, "day": None, "share": 1, "extra": {}}, "t", Bad)
    assert Thing(**got) == Thing(names=("a",), on=True, count=3, day=None, share=1)
    for key, value, must in [("names", "a", "a list of strings"), ("on", "yes", "true or false"),
                             ("count", True, "a whole number"), ("day", "3", "a whole number"),
                             ("share", "x", "a number"), ("label", 3, "text"), ("extra", [], "a JSON object")]:
        with pytest.raises(Bad, match=rf"^f.json: '{key}' must be {must}, not .*\. Do this\.$"):
            field_values(Thing, {key: value}, "f.json", Bad, fix="Do this.")


def test_unknown_fields_are_refused_or_ignored() -> None:
    with pytest.raises(Bad, match=r"unknown field\(s\) colour\. Known: names, on, count"):
        field_values(Thing, {"colour": 1}, "f", Bad)
    assert field_values(Thing, {"colour": 1}, "f", Bad, unknown="ignore") == {}


def test_files_name_themselves_when_they_cannot_be_used(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    f.write_text("{nope")
    with pytest.raises(Bad, match=rf"The presets file {f} cannot be read \(.*\)\. Fix it\.$"):
        read_json(f, "presets file", Bad, "Fix it.")
    with pytest.raises(Bad, match=rf"The presets file {f} must hold a JSON object with a 'presets' list\.$"):
        json_list({"presets": {}}, "presets", "presets file", f, Bad)
    assert json_list(read_json(f, "x", Bad, "", text='{"presets": [1]}'), "presets", "x", f, Bad) == [1]
