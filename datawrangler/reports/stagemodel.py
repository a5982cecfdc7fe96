"""What the reports say of a cascading copy (frozen dataclasses, as in `model`): a stage-1 offload's release
and its stage-2 offloads, or what a stage-2 offload was made from."""

from __future__ import annotations

from dataclasses import dataclass

from datawrangler.reports.volumemodel import Volume

WAITING = ("queued", "running", "interrupted", "cancelled")  # a stage-2 offload that has not ended


@dataclass(frozen=True)
class StageTwo:
    """A stage-2 offload of a stage-1 offload: where it writes and how far it got."""

    offload_id: int
    state: str
    destinations: tuple[str, ...]  # the stage-2 roll folders
    files: int
    files_verified: int
    files_failed: int
    made_from: str  # the stage-1 roll folder it reads
    files_mismatched: int = 0  # failed: the stage-1 copy no longer matched the card (copy them from the card)

    @property
    def waiting(self) -> bool:
        return self.state in WAITING


@dataclass(frozen=True)
class Cascade:
    """An offload's place in a cascading copy. Stage 1 (from the card): when the card was released and the
    stage-2 offloads made from its copies. Stage 2: the stage-1 offload and the verified copy it read."""

    stage: int  # 1: read the card; 2: read a verified stage-1 copy
    stage1: int | None = None  # of a stage-2 offload: the stage-1 offload
    released_at: float | None = None  # of a stage-1 offload: stage 1 ended verified, the card left the reader
    stage2: tuple[StageTwo, ...] = ()
    asked: tuple[str, ...] = ()  # the stage-2 roll folders stage 1 asked for
    made_from_path: str | None = None  # of a stage-2 offload: the stage-1 copy it read
    made_from_volume: Volume | None = None
    # stage 1 ended verified with stage 2 asked, and its stage 2 is not queued yet: the report filed as stage 1
    # ends may be written just before the app queues it (and records the release)
    queueing: bool = False

    @property
    def released(self) -> bool:
        """Stage 1 ended verified: the card may leave the reader."""
        return self.released_at is not None or self.queueing

    @property
    def waiting(self) -> tuple[StageTwo, ...]:
        """The stage-2 offloads queued or running (or stopped, to resume): the card is not safe yet."""
        return tuple(s for s in self.stage2 if s.waiting)

    @property
    def made_from(self) -> str:
        """One sentence: what a stage-2 offload copied, and what it checked each file against."""
        where = self.made_from_path or "an unknown folder"
        on = f" on {self.made_from_volume.called}" if self.made_from_volume else ""
        return (f"Stage 2 of offload {self.stage1}: copied from the verified stage-1 copy at {where}{on}, "
                "each file checked against the card's hashes.")
