"""A drive as the reports name it: its label, its catalog identity and the physical disk redundancy counts.
Apart from `model` so the cascade's model (`stagemodel`) can name the drive a stage-2 copy was made from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Volume:
    label: str | None
    key: str | None  # the catalog's global identity (filesystem UUID where the OS gives one)
    disk: str | None  # the physical disk: redundancy counts these
    device: str | None = None
    fstype: str | None = None
    mount_point: str | None = None
    capacity: int | None = None

    @property
    def name(self) -> str:
        return self.label or self.mount_point or self.device or self.disk or "unknown drive"

    @property
    def called(self) -> str:
        """The volume in a sentence: its label, else where it was mounted ('on the drive mounted at /')."""
        if self.label:
            return self.label
        return f"the drive mounted at {self.mount_point}" if self.mount_point else self.name
