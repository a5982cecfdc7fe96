"""Auto-offload with a cascading copy: the card is said released once stage 1 is verified, its stage-2 copy
runs on the auto-offloader's own stage-2 thread while the next card's stage 1 runs, the end of stage 2 says
whether the card is now safe to format, and eject-after ejects it only then (as the window does)."""

from __future__ import annotations

import queue
from pathlib import Path

import pytest

from datawrangler.app.auto import AutoOffloader, AutoStatus
from datawrangler.config import app_paths
from datawrangler.core.presets import Preset
from datawrangler.store import cascade
from datawrangler.store.db import open_catalog
from datawrangler.volumes.monitor import VolumeMounted
from tests.conftest import CardBuilder
from tests.volumes.test_auto import Ejector, _same_tree, _volume


@pytest.mark.root
def test_a_cascade_card_is_released_then_ejected_once_stage_two_makes_it_safe(
        make_card: CardBuilder, raid_and_shuttle: tuple[Path, Path], no_leaked_threads: None) -> None:
    raid, shuttle = raid_and_shuttle
    preset = Preset("cascade", destinations=(str(raid),), stage2=(str(shuttle),), template="{card}",
                    auto_offload=True, eject_after=True, keep_awake=False, copies_required=2, clips=False)
    seen: queue.Queue[AutoStatus] = queue.Queue()
    ejector = Ejector()
    auto = AutoOffloader(preset, app_paths().catalog_file, on_status=seen.put, ejector=ejector)
    a = make_card(name="A001R2EC")
    b = make_card(name="B001R1AA", files={"B001R1AA/B001C001_231014_R1AA.mov": 10})
    statuses: list[AutoStatus] = []
    with auto:
        auto(VolumeMounted(_volume(a)))
        auto(VolumeMounted(_volume(b)))
        while sum(s.kind == "ejected" for s in statuses) < 2:
            statuses.append(seen.get(timeout=120))
            assert statuses[-1].kind not in ("error", "refused"), statuses[-1]
    for reel in ("A001", "B001"):
        mine = [s.kind for s in statuses if s.reel == reel and s.kind != "warning"]
        released = next(s for s in statuses if s.reel == reel and s.kind == "released")
        assert released.safe_to_format is False and "NOT safe to format" in released.message
        assert mine.index("released") < mine.index("stage2_finished") < mine.index("ejected"), mine
    assert ejector.ejected == [_volume(a), _volume(b)]
    finished = [s for s in statuses if s.kind == "stage2_finished"]
    assert all(s.state == "verified" and s.safe_to_format for s in finished), finished
    _same_tree(a, shuttle / "A001R2EC")
    _same_tree(b, shuttle / "B001R1AA")
    db = open_catalog(app_paths().catalog_file)
    try:
        assert cascade.pending(db) == []
        for stage1 in (s.offload_id for s in statuses if s.kind == "finished"):
            assert stage1 is not None
            [job] = cascade.children(db, stage1)
            assert job.state == "verified" and job.offload_id in {s.offload_id for s in finished}
    finally:
        db.close()
