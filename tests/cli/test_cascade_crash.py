"""A `datawrangler offload --stage2` process killed (SIGKILL) while its stage-2 copy runs: the card was
already released, the stage-2 copy is listed as interrupted by `datawrangler stage2`, and `datawrangler
resume N` finishes it and says the card's verdict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from datawrangler.cli.common import EXIT_OK
from tests.cli.conftest import RunCli
from tests.conftest import BigData, write_file

MB = 1_000_000


def test_a_stage_two_copy_killed_mid_way_is_resumed(dw: RunCli, tmp_path: Path, big_data: BigData) -> None:
    big_data.need(3 * 160 * MB)
    card = tmp_path / "cards" / "A001R2EC"
    for i in range(8):  # large enough that stage 2 is still copying when it is killed
        write_file(card / f"A001R2EC/A001C{i + 1:03d}_231014_R2EC.mov", 20 * MB, seed=i + 1)
    raid, shuttle = tmp_path / "raid", tmp_path / "shuttle"
    raid.mkdir()
    shuttle.mkdir()
    big_data.remove_later(card, raid, shuttle)

    proc = subprocess.Popen([sys.executable, "-m", "datawrangler", "offload", str(card), str(raid), "--stage2",
                             str(shuttle), "--no-clips", "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=os.environ.copy())
    seen: list[dict] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(json.loads(line))
            if seen[-1]["event"] == "start" and any(e["event"] == "released" for e in seen):
                proc.send_signal(signal.SIGKILL)  # stage 2 has started: the machine dies
                break
    finally:
        proc.kill()
        proc.wait(60)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, seen[-3:]
    stage2 = next(e for e in seen if e["event"] == "released")["stage2"][0]["offload_id"]

    [job] = dw("stage2").of("stage2")[0]["jobs"]
    assert job["offload_id"] == stage2 and job["state"] == "interrupted"
    resumed = dw("resume", stage2)
    assert resumed.code == EXIT_OK, resumed.raw
    assert resumed.done["stage"] == 2 and resumed.done["state"] == "verified" and resumed.done["files_total"] == 8
    assert resumed.of("verdict")
    for f in card.rglob("*.mov"):
        assert (shuttle / card.name / f.relative_to(card)).read_bytes() == f.read_bytes()
    assert dw("stage2").of("stage2")[0]["jobs"] == []
