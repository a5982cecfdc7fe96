"""The cascading copy on the command line: `offload --stage2 ROOT` releases the card once stage 1 is verified
(said apart from safe to format) and runs stage 2 in the same process, or leaves it queued with
--stage2-later; `stage2` lists what waits and `stage2 run` runs it; `resume` of a stage-2 offload; the
exit codes of several stages; the errors that refuse before a byte moves. Real cards and copies in tmp
folders; distinct drives (safe to format) on real tmpfs mounts, skipped without root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datawrangler.app.cascade import run_stage2
from datawrangler.app.outcome import Observer
from datawrangler.cli import main
from datawrangler.cli.common import EXIT_CANCELLED, EXIT_ERRORS, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED, worst
from datawrangler.core.events import OffloadControl, OffloadState
from tests.cli.conftest import Run, RunCli
from tests.conftest import CardBuilder
from tests.integration.conftest import TmpfsFactory

CLIP = "A001R2EC/A001C002_231014_R2EC.mov"


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    raid, shuttle = tmp_path / "raid", tmp_path / "shuttle"
    raid.mkdir()
    shuttle.mkdir()
    return raid, shuttle


def _same_files(card: Path, roll: Path) -> None:
    files = [f for f in card.rglob("*") if f.is_file()]
    assert files
    for f in files:
        assert (roll / f.relative_to(card)).read_bytes() == f.read_bytes(), f


def _order(run: Run, *kinds: str) -> list[int]:
    """The index of each event kind's first line after the previous one's: the order they came in."""
    at, out = -1, []
    for kind in kinds:
        at = next(i for i, e in enumerate(run.events) if i > at and e["event"] == kind)
        out.append(at)
    return out


@pytest.mark.root
def test_two_stage_offload_is_safe_to_format_only_after_stage_two(dw: RunCli, make_card: CardBuilder,
                                                                  tmpfs_mount: TmpfsFactory, tmp_path: Path) -> None:
    """One drive per stage, two copies required: stage 1 releases the card but is not safe to format; the
    same command then runs stage 2 and ends SAFE TO FORMAT, and status agrees."""
    card = make_card()
    raid, shuttle = tmpfs_mount(64 << 20).mountpoint, tmpfs_mount(64 << 20).mountpoint
    run = dw("offload", card, raid, "--stage2", shuttle, "--no-clips")
    assert run.code == EXIT_OK, run.raw
    stage1, stage2 = run.of("done")
    assert stage1["stage"] == 1 and stage1["state"] == "verified" and stage1["released"] is True
    assert stage1["safe_to_format"] is False and stage1["copies_required"] == 2
    [released] = run.of("released")
    assert released["offload_id"] == stage1["offload_id"] and released["safe_to_format"] is False
    assert released["stage2_later"] is False and released["message"].startswith("RELEASED: ")
    assert "Not yet safe to format" in released["message"]
    [job] = released["stage2"]
    assert job["offload_id"] == stage1["stage2"][0] == stage2["offload_id"]
    assert job["source"] == str(raid / card.name) and job["destinations"] == [str(shuttle / card.name)]
    assert stage2["stage"] == 2 and stage2["cascade_of"] == stage1["offload_id"] and stage2["state"] == "verified"
    assert stage2["safe_to_format"] is True
    [verdict] = run.of("verdict")
    assert verdict["safe_to_format"] is True and verdict["copies"] == 2 and verdict["exit_code"] == EXIT_OK
    assert verdict["message"].startswith("SAFE TO FORMAT")
    # released after stage 1's result, before stage 2 starts; the verdict last
    first_done, rel, start2, _, last = _order(run, "done", "released", "start", "done", "verdict")
    assert first_done < rel < start2 < last == len(run.events) - 1
    assert [e["offload_id"] for e in run.of("start")] == [stage1["offload_id"], stage2["offload_id"]]
    _same_files(card, shuttle / card.name)

    status = dw("status", card)
    assert status.code == EXIT_OK, status.raw
    [st] = status.of("status")
    assert st["safe_to_format"] is True
    made = {o["id"]: o["made_from"] for o in st["card"]["offloads"]}
    assert made[stage1["offload_id"]]["kind"] == "card"
    assert made[stage1["offload_id"]]["stage2"] == [stage2["offload_id"]]
    assert made[stage1["offload_id"]]["released_at"]
    assert made[stage2["offload_id"]] == {"kind": "stage1_copy", "offload_id": stage1["offload_id"],
                                          "path": str(raid / card.name), "drive": str(raid),
                                          "destinations": [str(shuttle / card.name)]}


def test_the_text_says_released_apart_from_safe_to_format(make_card: CardBuilder, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    card = make_card()
    raid, shuttle = _folders(tmp_path)
    assert main(["offload", str(card), str(raid), "--stage2", str(shuttle), "--no-clips", "-q"]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    released = out.index("RELEASED: every file is verified on the stage-1 drive(s); the card may leave the reader.")
    assert out[released + 1] == (f"  Not yet safe to format: stage 2 to {shuttle / card.name} (offload 2, 4 files "
                                 f"from {raid / card.name}) is queued. Running it now.")
    stage2 = next(i for i, line in enumerate(out) if line.startswith("  offload 2 (stage 2 of offload 1"))
    assert released < stage2
    # both folders are on one drive: two copies, but one drive, so the verdict says why not
    assert out[-1].startswith("NOT SAFE TO FORMAT: ") and "one drive" in out[-1]

    assert main(["status", str(card)]) == EXIT_ERRORS
    text = capsys.readouterr().out
    assert f"-> {raid / card.name}  (verified" in text and "), made from the card" in text
    assert f"made from offload 1's stage-1 copy at {raid / card.name}" in text
    assert "stage 2 of offload 1" in text and "stage 2: offload 2" in text

    assert main(["history"]) == EXIT_OK  # history says it too, for each offload's copies
    text = capsys.readouterr().out
    assert f"-> {shuttle / card.name}  (verified" in text
    assert f"made from offload 1's stage-1 copy at {raid / card.name}" in text
    assert f"-> {raid / card.name}  (verified" in text and "made from the card" in text


def test_stage2_later_leaves_it_queued_and_stage2_run_runs_it(dw: RunCli, make_card: CardBuilder,
                                                              tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    card = make_card()
    raid, shuttle = _folders(tmp_path)
    run = dw("offload", card, raid, "--stage2", shuttle, "--stage2-later", "--no-clips")
    assert run.code == EXIT_OK, run.raw
    [done] = run.of("done")
    [released] = run.of("released")
    assert released["stage2_later"] is True and "datawrangler stage2 run 2" in released["message"]
    assert len(run.of("start")) == 1 and not (shuttle / card.name).exists()
    [verdict] = run.of("verdict")
    assert verdict["safe_to_format"] is False and verdict["exit_code"] == EXIT_OK

    listed = dw("stage2")
    assert listed.code == EXIT_OK
    [jobs] = listed.of("stage2")
    [job] = jobs["jobs"]
    assert job["offload_id"] == done["stage2"][0] and job["state"] == "queued" and job["cascade_of"] == 1
    assert job["source"] == str(raid / card.name) and job["destinations"] == [str(shuttle / card.name)]
    assert job["files"] == 4 and job["reel"] == "A001"

    assert main(["stage2"]) == EXIT_OK  # the same, for people
    text = capsys.readouterr().out
    assert "1 stage-2 copy waiting" in text and f"from offload 1's stage-1 copy {raid / card.name}" in text
    assert f"to   {shuttle / card.name}" in text and "queued" in text
    assert main(["history"]) == EXIT_OK  # a queued copy has no copy rows yet: the folder it will write
    assert (f"-> {shuttle / card.name}  (queued, not written yet), to be made from offload 1's stage-1 copy at "
            f"{raid / card.name}") in capsys.readouterr().out

    ran = dw("stage2", "run")
    assert ran.code == EXIT_OK, ran.raw
    assert ran.done["offload_id"] == job["offload_id"] and ran.done["stage"] == 2 and ran.done["state"] == "verified"
    assert ran.of("verdict")[0]["offload_id"] == job["offload_id"]
    _same_files(card, shuttle / card.name)
    assert dw("stage2").of("stage2")[0]["jobs"] == []
    again = dw("stage2", "run")
    assert again.code == EXIT_OK and again.of("stage2_none") and not again.of("start")


def test_resume_of_a_stage_two_offload_finishes_it(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    """A stage-2 copy stopped part way (cancelled) is listed as waiting, and `resume N` finishes it through
    run_offload, ending with the card's verdict."""
    card = make_card()
    raid, shuttle = _folders(tmp_path)
    first = dw("offload", card, raid, "--stage2", shuttle, "--stage2-later", "--no-clips")
    oid = first.of("released")[0]["stage2"][0]["offload_id"]
    control = OffloadControl()
    # the catalog the CLI uses (the test's DATAWRANGLER_HOME); cancelled at its first progress report
    stopped = run_stage2(oid, control, observer=Observer(progress=lambda _: control.cancel()), report=False)
    assert stopped.result.state is OffloadState.CANCELLED and stopped.result.files_verified < 4
    [job] = dw("stage2").of("stage2")[0]["jobs"]
    assert job["offload_id"] == oid and job["state"] == "cancelled"

    resumed = dw("resume", oid)
    assert resumed.code == EXIT_OK, resumed.raw
    assert resumed.done["stage"] == 2 and resumed.done["cascade_of"] == 1 and resumed.done["state"] == "verified"
    assert resumed.of("verdict") and not resumed.of("released")
    _same_files(card, shuttle / card.name)
    assert dw("stage2").of("stage2")[0]["jobs"] == []


def test_a_stage_one_copy_that_differs_from_the_card_fails_stage_two(dw: RunCli, make_card: CardBuilder,
                                                                     tmp_path: Path) -> None:
    card = make_card()
    raid, shuttle = _folders(tmp_path)
    dw("offload", card, raid, "--stage2", shuttle, "--stage2-later", "--no-clips")
    bad = raid / card.name / CLIP
    data = bytearray(bad.read_bytes())
    data[4096] ^= 0x01
    st = bad.stat()
    bad.write_bytes(bytes(data))
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))
    run = dw("stage2", "run")
    assert run.code == EXIT_ERRORS, run.raw
    failed = run.files()[CLIP]
    assert failed["status"] == "failed" and failed["code"] == "stage_source_mismatch"
    assert "Copy it again from the card" in failed["message"]
    [verdict] = run.of("verdict")
    assert verdict["safe_to_format"] is False and verdict["exit_code"] == EXIT_ERRORS
    assert not (shuttle / card.name / CLIP).exists()


def test_stage2_run_exits_with_the_worst_of_its_copies(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    """Two stage-2 copies waiting: one whose drive is gone (refused, stays queued), one that fails a file:
    each says its result, and the command exits with the failed file's code (1 before 2)."""
    a = make_card(name="A001R2EC")
    b = make_card(name="B002R3FD", files={"B002R3FD/B002C001_231014_R3FD.mov": 2_000_000})
    raid, shuttle = _folders(tmp_path)
    gone = tmp_path / "gone"
    gone.mkdir()
    first = dw("offload", a, raid, "--stage2", gone, "--stage2-later", "--no-clips")
    second = dw("offload", b, raid, "--stage2", shuttle, "--stage2-later", "--no-clips")
    gone.rmdir()  # the first one's stage-2 drive is unplugged
    bad = raid / b.name / "B002R3FD/B002C001_231014_R3FD.mov"
    st = bad.stat()
    with open(bad, "r+b") as f:
        f.seek(100)
        f.write(b"\0" * 8)
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))
    run = dw("stage2", "run")
    assert run.code == EXIT_ERRORS, run.raw
    refused = first.of("released")[0]["stage2"][0]["offload_id"]
    assert any(e.get("code") == "stage2_not_started" and f"stage2 run {refused}" in e["message"]
               for e in run.of("warning"))
    assert run.done["offload_id"] == second.of("released")[0]["stage2"][0]["offload_id"]
    assert run.done["files_failed"] == 1
    [job] = dw("stage2").of("stage2")[0]["jobs"]  # the refused one still waits; the failed one ended
    assert job["offload_id"] == refused and job["state"] == "queued"


def test_worst_exit_code() -> None:
    assert worst([]) == EXIT_OK
    assert worst([EXIT_OK, EXIT_OK]) == EXIT_OK
    assert worst([EXIT_OK, EXIT_REFUSED, EXIT_ERRORS]) == EXIT_ERRORS
    assert worst([EXIT_CANCELLED, EXIT_OK]) == EXIT_CANCELLED
    assert worst([EXIT_CANCELLED, EXIT_INTERRUPTED, EXIT_REFUSED]) == EXIT_REFUSED
    assert worst([EXIT_ERRORS, 70]) == 70


def test_a_stage_two_drive_that_is_not_there_refuses_before_a_byte_moves(dw: RunCli, make_card: CardBuilder,
                                                                         tmp_path: Path) -> None:
    card = make_card()
    raid, _ = _folders(tmp_path)
    missing = tmp_path / "not-mounted"
    run = dw("offload", card, raid, "--stage2", missing, "--no-clips")
    assert run.code == EXIT_REFUSED
    [err] = run.errors
    assert err["code"] == "stage2_missing" and str(missing) in err["message"]
    assert "Nothing was copied" in err["message"] and "--stage2-later" in err["message"]
    assert list(raid.iterdir()) == [] and not run.of("start")

    later = dw("offload", card, raid, "--stage2", missing, "--stage2-later", "--no-clips")
    assert later.code == EXIT_OK, later.raw
    assert [w["code"] for w in later.of("warning") if w.get("code") == "stage2_missing"] == ["stage2_missing"]
    oid = later.of("released")[0]["stage2"][0]["offload_id"]
    refused = dw("stage2", "run", oid)
    assert refused.code == EXIT_REFUSED and refused.errors and not refused.of("done")
    assert any(w.get("code") == "stage2_not_started" for w in refused.of("warning"))
    missing.mkdir()  # the drive is connected
    ran = dw("stage2", "run", oid)
    assert ran.code == EXIT_OK, ran.raw
    _same_files(card, missing / card.name)


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--stage2-later"], "no_stage2", "no stage-2 destination was given"),
    (["--stage2", "{raid}"], "stage2_is_destination", "is both a destination and a stage-2 destination"),
    (["--stage2", "{shuttle}", "--verify", "size"], "stage2_needs_verify", "'size' never verifies"),
    (["--stage2", "{shuttle}", "--stage2", "{shuttle}/"], "stage2_twice", "is given twice"),
])
def test_stage_two_arguments_that_cannot_work_are_refused(dw: RunCli, make_card: CardBuilder, tmp_path: Path,
                                                          args: list[str], code: str, words: str) -> None:
    card = make_card()
    raid, shuttle = _folders(tmp_path)
    run = dw("offload", card, raid, *(a.format(raid=raid, shuttle=shuttle) for a in args), "--no-clips")
    assert run.code == EXIT_REFUSED
    assert [e["code"] for e in run.errors] == [code] and words in run.errors[0]["message"]
    assert list(raid.iterdir()) == [] and list(shuttle.iterdir()) == []


def test_stage2_run_refuses_ids_that_are_not_stage_two_copies(dw: RunCli, make_card: CardBuilder,
                                                               tmp_path: Path) -> None:
    card = make_card()
    raid, shuttle = _folders(tmp_path)
    dw("offload", card, raid, "--stage2", shuttle, "--stage2-later", "--no-clips")
    run = dw("stage2", "run", "2", "1", "99")
    assert run.code == EXIT_REFUSED and not run.of("start")
    messages = [e["message"] for e in run.errors]
    assert [e["code"] for e in run.errors] == ["not_stage2", "not_stage2"]
    assert messages[0].startswith(f"Offload 1 is not a stage-2 copy: it copied from {card}.")
    assert "'datawrangler resume 1'" in messages[0] and "Nothing was run." in messages[0]
    assert messages[1].startswith("There is no offload 99 in the catalog.")
    assert not (shuttle / card.name).exists()  # offload 2, a good id, was not run either
    bad = dw("stage2", "run", "two")
    assert bad.code == EXIT_REFUSED and "a stage-2 copy is named by its offload id" in bad.stderr


def test_several_stage_two_drives_are_written_from_one_read_of_the_stage_one_copy(dw: RunCli, make_card: CardBuilder,
                                                                                 tmp_path: Path) -> None:
    card = make_card()
    raid, shuttle = _folders(tmp_path)
    (tmp_path / "vault").mkdir()
    run = dw("offload", card, raid, "--stage2", shuttle, "--stage2", tmp_path / "vault", "--no-clips")
    assert run.code == EXIT_OK, run.raw
    [job] = run.of("released")[0]["stage2"]
    assert job["destinations"] == [str(shuttle / card.name), str(tmp_path / "vault" / card.name)]
    stage2 = run.of("done")[1]
    assert stage2["stage"] == 2 and [d["path"] for d in stage2["destinations"]] == job["destinations"]
    _same_files(card, shuttle / card.name)
    _same_files(card, tmp_path / "vault" / card.name)
