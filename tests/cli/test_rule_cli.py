"""The rule on the command line: `--rule` on offload and status (a wrong one names the choices), a preset's
`rule`, the rule a cascading copy's stage 1 records for its stage 2 (run now or later), and `drive kind` /
`drive list`. Real cards and copies; distinct drives on tmpfs mounts (root)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datawrangler.cli.common import EXIT_ERRORS, EXIT_OK, EXIT_REFUSED
from datawrangler.config import app_paths
from tests.cli.conftest import RunCli
from tests.conftest import CardBuilder
from tests.integration.conftest import TmpfsFactory

NEEDS = "2 copies, 1 media kind, 1 site: needs a copy on another media kind at another site"


def _preset(**fields: object) -> None:
    f = app_paths().presets_file
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps({"presets": [{"name": "Studio", "clips": False, **fields}]}))


def test_a_wrong_rule_is_refused_naming_the_choices(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    for run in (dw("offload", card, tmp_path / "d1", "--rule", "4-3-2"), dw("status", "A001", "--rule", "two")):
        assert run.code == EXIT_REFUSED
        [error] = run.errors
        assert "--rule: Unknown protection rule" in error["message"] and "'3-2-1'" in error["message"]
    assert not (tmp_path / "d1" / card.name).exists()  # refused before a byte moved


def test_a_preset_with_an_unknown_rule_is_named(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    _preset(rule="5-4-3", destinations=[str(tmp_path)])
    run = dw("offload", make_card(), "--preset", "Studio")
    assert run.code == EXIT_REFUSED
    assert "preset 'Studio': 'rule': Unknown protection rule '5-4-3'" in run.errors[0]["message"]


def test_the_preset_rule_judges_the_offload_and_its_stage_2_run_now(
        dw: RunCli, make_card: CardBuilder, tmpfs_mount: TmpfsFactory) -> None:
    raid, shuttle = tmpfs_mount(64 << 20).mountpoint, tmpfs_mount(64 << 20).mountpoint
    _preset(rule="3-2-1", destinations=[str(raid)], stage2=[str(shuttle)])
    run = dw("offload", make_card(), "--preset", "Studio")
    assert run.code == EXIT_OK, run.raw  # every copy verified...
    stage1, stage2 = run.of("done")
    assert stage1["rule"] == stage2["rule"] == "3-2-1"
    assert stage1["judgement"] == "1 copy, 1 media kind, 1 site: needs 2 more copies on another media kind at " \
        "another site"
    [verdict] = run.of("verdict")  # ...but two copies at one site do not meet 3-2-1
    assert verdict["safe_to_format"] is False and verdict["rule"] == "3-2-1" and verdict["judgement"] == NEEDS
    assert any(NEEDS in r for r in verdict["reasons"])


def test_stage_2_run_later_is_judged_by_the_rule_stage_1_recorded(
        dw: RunCli, make_card: CardBuilder, tmpfs_mount: TmpfsFactory) -> None:
    raid, shuttle = tmpfs_mount(64 << 20).mountpoint, tmpfs_mount(64 << 20).mountpoint
    run = dw("offload", make_card(), raid, "--stage2", shuttle, "--stage2-later", "--rule", "3-2-1", "--no-clips")
    assert run.code == EXIT_OK, run.raw
    [job] = run.of("released")[0]["stage2"]
    later = dw("stage2", "run", str(job["offload_id"]))
    [verdict] = later.of("verdict")
    assert verdict["rule"] == "3-2-1" and verdict["judgement"] == NEEDS and verdict["safe_to_format"] is False
    assert dw("drive", "kind", raid, "raid").code == EXIT_OK
    assert dw("drive", "kind", shuttle, "shuttle").code == EXIT_OK
    status = dw("status", "A001", "--rule", "3-2-1")
    assert status.code == EXIT_ERRORS
    assert status.of("status")[0]["judgement"] == "2 copies, 2 media kinds, 1 site: needs a copy at another site"


def test_drive_kind_and_list(dw: RunCli, tmp_path: Path) -> None:
    bad = dw("drive", "kind", tmp_path, "tape")
    assert bad.code == EXIT_REFUSED
    assert "Unknown media kind 'tape'. Use one of shuttle, raid, lto, cloud, card, disk" in bad.errors[0]["message"]
    gone = dw("drive", "kind", tmp_path / "nowhere", "lto")
    assert gone.code == EXIT_REFUSED and "does not exist" in gone.errors[0]["message"]
    said = dw("drive", "kind", tmp_path, "LTO")
    assert said.code == EXIT_OK and said.of("drive")[0]["media_kind"] == "lto"
    [listed] = dw("drive", "list").of("drives")[0]["drives"]
    assert listed["media_kind"] == "lto" and listed["disk"] == said.of("drive")[0]["disk"]
    assert dw("drive", "kind", tmp_path, "unset").code == EXIT_OK
    assert dw("drive", "list").of("drives")[0]["drives"][0]["media_kind"] is None


@pytest.mark.parametrize("words", ["drive", "drive kind"])
def test_drive_without_its_arguments_is_a_usage_error(dw: RunCli, words: str) -> None:
    assert dw(*words.split()).code == 2
