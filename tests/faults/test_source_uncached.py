"""Stage 2 of a cascading copy hashes the stage-1 copy as its drive holds it, not as the page cache does.

The stage-1 copy is written through FaultFS with `corrupt_on_store`: the drive (the backing folder) gets
bytes that differ from what the writer gave, while the kernel's page cache keeps the writer's bytes. A read
that trusts the cache sees a good copy; only a read after the pages were dropped sees what the drive holds,
which is what stage 2 must compare with the card's digests. Files cover every read path of the engine: the
first small file (opened when its turn comes), the small files opened ahead, and a file read in chunks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import xxhash

from datawrangler.core.events import FileResult, FileStatus, VerifyMode
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.transfer import offload
from datawrangler.store.offloads import plan_from_json, plan_to_json
from tests.faultfs import FaultMount, cache_drops
from tests.integration.conftest import faultfs

__all__ = ["faultfs"]

FaultFSFactory = Callable[..., FaultMount]
KiB = 1024
CHUNK = 256 * KiB
# whole pages only: FUSE never keeps a partial last page cached
FILES = {"A001/a.ari": 64 * KiB, "A001/b.ari": 16 * KiB, "A001/c.ari": 32 * KiB, "A001/clip.mov": 4 * CHUNK}

pytestmark = [pytest.mark.fuse, pytest.mark.root, pytest.mark.timeout(120)]


def _write_stage1_copy(fs: FaultMount) -> dict[str, bytes]:
    """Write each file through the mount (synced), then read it once: the cache holds the clean bytes."""
    data = {rel: os.urandom(size) for rel, size in FILES.items()}
    (fs / "A001").mkdir()
    for rel, content in data.items():
        fd = os.open(fs / rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
    return data


def _offload(source: Path, dest: Path, uncached: bool) -> dict[str, FileResult]:
    plan = OffloadPlan.create(source, [dest], roll_name="A001", verify_mode=VerifyMode.DESTINATIONS,
                              chunk_size=CHUNK, source_uncached=uncached)
    plan = plan_from_json(plan_to_json(plan))  # as a stage-2 offload is resumed from the catalog
    assert plan.source_uncached is uncached
    results: dict[str, FileResult] = {}
    offload(plan, on_file=lambda r: results.__setitem__(f"A001/{r.rel_path}", r), check=False)
    return results


def test_stage2_source_is_hashed_as_the_drive_holds_it(faultfs: FaultFSFactory, tmp_path: Path) -> None:
    for _ in range(5):
        fs = faultfs("stage1")
        fs.corrupt_on_store("A001/*")
        drops = cache_drops()
        clean = _write_stage1_copy(fs)
        stored = {rel: (fs.backing / rel).read_bytes() for rel in FILES}
        assert all(stored[rel] != clean[rel] for rel in FILES), "corrupt_on_store changed no byte"
        fetched = fs.bytes_read()
        cached = {rel: (fs / rel).read_bytes() for rel in FILES}

        trusting = _offload(fs / "A001", tmp_path / f"trusting{drops}", uncached=False)
        if cache_drops() != drops or fs.bytes_read() != fetched:
            continue  # the system caches were dropped meanwhile: the cache proved nothing this time
        assert cached == clean  # the page cache hides what the drive holds...
        for rel in FILES:  # ...and an engine that trusts it copies and hashes the writer's bytes
            assert trusting[rel].status is FileStatus.VERIFIED
            assert trusting[rel].digests["xxh64"] == xxhash.xxh64(clean[rel]).hexdigest()

        uncached = _offload(fs / "A001", tmp_path / f"uncached{drops}", uncached=True)
        for rel in FILES:  # every read path fetched the file from the drive
            assert uncached[rel].digests["xxh64"] == xxhash.xxh64(stored[rel]).hexdigest(), rel
            assert (tmp_path / f"uncached{drops}" / "A001" / rel.split("/", 1)[1]).read_bytes() == stored[rel]
        assert fs.bytes_read() - fetched >= sum(FILES.values())
        return
    pytest.skip("another process kept dropping the system caches (drop_caches) during the test")
