"""What handoff files an offload's rolls get (HandoffOptions, from a preset), their names in a roll, and what
writing them gave (HandoffResult): shared by the writer of each roll (handoff.roll), its caller
(handoff.writer) and the editorial files written later (handoff.editorial)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from datawrangler.core.hashing import LIST_ALGORITHMS, REGISTRY, parse_algorithms
from datawrangler.store.handoff_names import (
    ALE_SUFFIX,
    CLIP_CSV_SUFFIX,
    CSV_SUFFIX,
    JSON_SUFFIX,
    LEGACY_MHL_SUFFIX,
    sidecar_name,
)

NOT_WRITTEN = ("running", "interrupted", "cancelled")
EDITORIAL_KINDS = ("ale", "clip_csv")  # written by handoff.editorial after the clips are read


@dataclass(frozen=True)
class HandoffOptions:
    ascmhl: bool = True
    legacy_mhl: bool = False
    checksum_lists: tuple[str, ...] = ()  # algorithms with a checksum list (core.hashing.LIST_ALGORITHMS)
    csv: bool = False
    json: bool = False
    ale: bool = False  # editorial: an Avid ALE of the roll's clips (written once the clips are read)
    clip_csv: bool = False  # editorial: a CSV of the roll's clips

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> HandoffOptions:
        """From a preset / settings object, e.g. {"legacy_mhl": true, "checksum_lists": "xxh64,md5"}."""
        data = dict(data or {})
        raw = data.get("checksum_lists") or ()
        algs = parse_algorithms(raw) if raw else ()
        bad = [a for a in algs if a not in LIST_ALGORITHMS]
        if bad:
            raise ValueError(f"No checksum list format for {', '.join(bad)}: choose from "
                             f"{', '.join(LIST_ALGORITHMS)}.")
        return cls(bool(data.get("ascmhl", True)), bool(data.get("legacy_mhl", False)), algs,
                   bool(data.get("csv", False)), bool(data.get("json", False)), bool(data.get("ale", False)),
                   bool(data.get("clip_csv", False)))


@dataclass
class HandoffResult:
    written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def sidecar_names(roll: str, started_at: float, options: HandoffOptions, algorithms: Sequence[str]) -> dict[str, str]:
    """{kind: file name in the roll folder}; named by store.handoff_names, which `verify` also uses to tell
    these files from files that are not in the offload."""
    out: dict[str, str] = {}
    for alg in options.checksum_lists:
        if alg in algorithms:
            out[f"list:{alg}"] = sidecar_name(roll, started_at, REGISTRY[alg].list_suffix)
    if options.legacy_mhl:
        out["legacy"] = sidecar_name(roll, started_at, LEGACY_MHL_SUFFIX)
    if options.csv:
        out["csv"] = sidecar_name(roll, started_at, CSV_SUFFIX)
    if options.json:
        out["json"] = sidecar_name(roll, started_at, JSON_SUFFIX)
    if options.ale:
        out["ale"] = sidecar_name(roll, started_at, ALE_SUFFIX)
    if options.clip_csv:
        out["clip_csv"] = sidecar_name(roll, started_at, CLIP_CSV_SUFFIX)
    return out
