"""The cascading copy on the command line when a stage stops (Ctrl-C in stage 1 or in stage 2), when stage 1
resumes, and with a preset's stage-2 drives. Ctrl-C is the CLI's own handler calling control.cancel(): the
tests call it at the moment the stage starts (a wrapper around the run it hands the control to)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datawrangler.cli import cascade_cmds, offload
from datawrangler.cli.common import EXIT_CANCELLED, EXIT_OK
from datawrangler.config import save_presets
from datawrangler.core.events import OffloadControl
from datawrangler.core.presets import Preset
from tests.cli.conftest import RunCli
from tests.conftest import CardBuilder


def _cancelled_at_start(run: Callable[..., Any]) -> Callable[..., Any]:
    """`run` as if the DIT pressed Ctrl-C the moment it started."""
    def wrapped(first: Any, control: OffloadControl, **kw: Any) -> Any:
        control.cancel()
        return run(first, control, **kw)
    return wrapped


def _folders(tmp_path: Path, *names: str) -> list[Path]:
    out = []
    for name in names:
        (tmp_path / name).mkdir()
        out.append(tmp_path / name)
    return out


def test_a_stage_one_that_does_not_verify_does_not_release_the_card(dw: RunCli, make_card: CardBuilder,
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    card = make_card()
    raid, shuttle = _folders(tmp_path, "raid", "shuttle")
    real = offload.run_offload
    monkeypatch.setattr(offload, "run_offload", _cancelled_at_start(real))
    run = dw("offload", card, raid, "--stage2", shuttle, "--no-clips")
    assert run.code == EXIT_CANCELLED, run.raw
    assert run.done["state"] == "cancelled" and run.done["released"] is False and run.done["stage2"] == []
    assert not run.of("released") and len(run.of("start")) == 1
    [said] = run.of("not_released")
    assert said["message"].startswith("NOT RELEASED: stage 1 ended cancelled") and "keep the card" in said["message"]
    assert "'datawrangler resume 1'" in said["message"]
    assert run.of("verdict")[0]["safe_to_format"] is False
    assert dw("stage2").of("stage2")[0]["jobs"] == []  # nothing queued

    monkeypatch.setattr(offload, "run_offload", real)  # (undo() would also undo the test's DATAWRANGLER_HOME)
    resumed = dw("resume", "1")  # stage 1 finishes, the card is released, and stage 2 runs in the same command
    assert resumed.code == EXIT_OK, resumed.raw
    stage1, stage2 = resumed.of("done")
    assert stage1["offload_id"] == 1 and stage1["released"] is True and stage2["stage"] == 2
    assert resumed.of("released") and resumed.of("verdict")[0]["exit_code"] == EXIT_OK
    assert (shuttle / card.name / "SDINFO.TXT").read_bytes() == (card / "SDINFO.TXT").read_bytes()


def test_ctrl_c_in_stage_two_leaves_it_to_resume(dw: RunCli, make_card: CardBuilder, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    card = make_card()
    raid, shuttle = _folders(tmp_path, "raid", "shuttle")
    real = cascade_cmds.run_stage2
    monkeypatch.setattr(cascade_cmds, "run_stage2", _cancelled_at_start(real))
    run = dw("offload", card, raid, "--stage2", shuttle, "--no-clips")
    assert run.code == EXIT_CANCELLED, run.raw  # the worst of stage 1 (0) and stage 2 (5)
    stage1, stage2 = run.of("done")
    assert stage1["exit_code"] == EXIT_OK and stage2["state"] == "cancelled" and stage2["exit_code"] == EXIT_CANCELLED
    [verdict] = run.of("verdict")
    assert verdict["safe_to_format"] is False and verdict["exit_code"] == EXIT_CANCELLED
    [job] = dw("stage2").of("stage2")[0]["jobs"]
    assert job["offload_id"] == stage2["offload_id"] and job["state"] == "cancelled"
    monkeypatch.setattr(cascade_cmds, "run_stage2", real)
    assert dw("stage2", "run").code == EXIT_OK
    assert (shuttle / card.name / "SDINFO.TXT").is_file()


def test_the_presets_stage_two_drives_and_the_option_that_replaces_them(dw: RunCli, make_card: CardBuilder,
                                                                        tmp_path: Path) -> None:
    card = make_card()
    raid, shuttle, other = _folders(tmp_path, "raid", "shuttle", "other")
    save_presets([Preset("cascade", destinations=(str(raid),), stage2=(str(shuttle),), template="{card}",
                         copies_required=1, clips=False, keep_awake=False)])
    run = dw("offload", card, "--preset", "cascade")
    assert run.code == EXIT_OK, run.raw
    [released] = run.of("released")
    # one copy required: stage 1 alone is enough, and it says so; stage 2 still runs for more copies
    assert released["safe_to_format"] is True and "Safe to format already" in released["message"]
    assert [d for j in released["stage2"] for d in j["destinations"]] == [str(shuttle / card.name)]
    assert len(run.of("done")) == 2 and (shuttle / card.name / "SDINFO.TXT").is_file()

    again = make_card(name="A002R2EC")
    run = dw("offload", again, "--preset", "cascade", "--stage2", other)
    assert run.code == EXIT_OK, run.raw
    assert run.of("released")[0]["stage2"][0]["destinations"] == [str(other / again.name)]
    assert (other / again.name / "SDINFO.TXT").is_file() and not (shuttle / again.name).exists()
