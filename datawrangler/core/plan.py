"""OffloadPlan and preflight: refuse what cannot work before a byte moves, with a message that says what
to do."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from datawrangler import platform
from datawrangler.core.errors import Code, OffloadError
from datawrangler.core.events import VerifyMode
from datawrangler.core.hashing import DEFAULT_ALGORITHMS, parse_algorithms
from datawrangler.core.names import NOT_TEXT, check_card_names, check_names, folds_form, probe, undecodable
from datawrangler.core.problems import Preflight, Problem
from datawrangler.core.scan import DEFAULT_IGNORE, ScanResult, SourceFile

MiB = 1 << 20


@dataclass(frozen=True)
class OffloadPlan:
    source: str
    destinations: tuple[str, ...]  # roll folders: where the card's tree lands on each destination
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    verify_mode: VerifyMode = VerifyMode.FULL
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    retries: int = 2  # re-copies of a file whose read-back did not match
    read_retries: int = 3  # re-reads of a card region that failed
    chunk_size: int = 8 * MiB
    queue_depth: int = 4  # chunks waiting per destination: memory is bounded by this
    overlap_verify: bool = True
    batch_bytes: int = 256 * MiB  # files synced together with one barrier (Linux syncfs)
    batch_files: int = 256
    # stage 2 of a cascading copy reads a stage-1 copy on a drive: each source file's clean pages are dropped
    # before its first read, so the bytes hashed (and compared with the card's) are the drive's, not pages
    # the stage-1 write or read-back left in memory
    source_uncached: bool = False
    # a destination's small files written and verified in a process of its own where that is safe (core.lane)
    lanes: bool = True

    @classmethod
    def create(
        cls,
        source: str | os.PathLike[str],
        destination_roots: Sequence[str | os.PathLike[str]],
        *,
        roll_name: str | None = None,
        algorithms: str | Iterable[str] = DEFAULT_ALGORITHMS,
        verify_mode: str | VerifyMode = VerifyMode.FULL,
        **options: object,
    ) -> OffloadPlan:
        """A plan that copies SOURCE into ROOT/<roll> on each destination (roll: the card's folder name)."""
        src = os.path.abspath(os.fspath(source))
        if isinstance(destination_roots, str | os.PathLike):
            destination_roots = [destination_roots]  # one drive, not one destination per character
        roll = roll_name or os.path.basename(src.rstrip(os.sep)) or "card"
        check_roll_name(roll)
        try:
            mode = VerifyMode(verify_mode)
        except ValueError:
            raise OffloadError(Code.UNKNOWN_VERIFY_MODE, f"Unknown verify mode {verify_mode!r}: use full, "
                               "destinations or size.") from None
        dests = tuple(os.path.join(os.path.abspath(os.fspath(d)), roll) for d in destination_roots)
        return cls(src, dests, parse_algorithms(algorithms), mode, **options)  # type: ignore[arg-type]


def check_roll_name(roll: str) -> None:
    """A roll folder is one folder inside the destination: no separators, no '..', nothing a drive refuses."""
    bad = (not roll.strip() or roll in (".", "..") or "/" in roll or "\\" in roll
           or any(c in platform.FORBIDDEN_CHARS or c in NOT_TEXT for c in roll) or undecodable(roll)
           or len(roll.encode("utf-8")) > 255)
    if bad:
        raise OffloadError(Code.BAD_ROLL_NAME, f"The roll folder name {roll!r} cannot be used: it must be one "
                           "folder name, without / \\ : * ? \" < > | or control characters. Choose another.")


def _inside(child: str, parent: str) -> bool:
    return child != parent and child.startswith(parent.rstrip(os.sep) + os.sep)


def existing_ancestor(path: str) -> str:
    """The path, or its nearest folder that exists (a roll folder not made yet is on the drive of the
    folder it will be made in)."""
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def preflight(plan: OffloadPlan, scan: ScanResult) -> Preflight:
    pf = Preflight()
    src = os.path.realpath(plan.source)
    if not plan.destinations:
        pf.errors.append(Problem(Code.NO_DESTINATION, "No destination given. Add at least one drive."))
        return pf
    if not os.path.isdir(src):
        pf.errors.append(Problem(Code.SOURCE_MISSING, f"The source {plan.source} does not exist or is not a "
                                 "folder. Check that the card is mounted and the path is right.", plan.source))
        return pf
    check_card_names(pf, scan.files)
    seen: dict[str, str] = {}
    volumes: dict[str, list[str]] = defaultdict(list)
    filesystems: dict[int, list[str]] = defaultdict(list)  # free space is per filesystem, not per disk
    src_volume = platform.physical_volume(src)
    for dest in plan.destinations:
        norm = os.path.normpath(dest)  # a trailing slash names the same folder
        root = os.path.dirname(norm)
        real = os.path.realpath(norm)  # also resolves a roll folder that is a symlink
        if real in seen:
            pf.errors.append(Problem(Code.DEST_DUPLICATE, f"{dest} is given twice as a destination. "
                                     "Remove the duplicate: one folder is one copy.", dest))
            continue
        seen[real] = dest
        if real == src:
            pf.errors.append(Problem(Code.DEST_IS_SOURCE, f"The destination {dest} is the card itself. "
                                     "Choose a folder on another drive.", dest))
            continue
        if _inside(real, src):
            pf.errors.append(Problem(Code.DEST_INSIDE_SOURCE, f"The destination {dest} is inside the card "
                                     f"{plan.source}. Never write to the card: choose another drive.", dest))
            continue
        if _inside(src, real):
            pf.errors.append(Problem(Code.SOURCE_INSIDE_DEST, f"The card {plan.source} is inside the "
                                     f"destination {dest}. Choose a destination folder outside the card.", dest))
            continue
        if not os.path.isdir(root):
            pf.errors.append(Problem(Code.DEST_MISSING, f"The destination {root} does not exist or is not a "
                                     "folder. Connect the drive or create the folder.", root))
            continue
        probe_dir = existing_ancestor(dest)
        writable, insensitive, err = probe(probe_dir)
        if not writable:
            pf.errors.append(Problem(Code.DEST_READ_ONLY, f"Cannot write to {probe_dir} ({err}). Check the "
                                     "drive's write protection and the folder's permissions.", dest))
            continue
        vol = platform.physical_volume(root)
        volumes[vol].append(dest)
        filesystems[os.stat(root).st_dev].append(dest)
        if vol == src_volume:
            pf.warnings.append(Problem(Code.SAME_VOLUME, (
                f"{dest} is on the same drive as the stage-1 copy it is made from ({plan.source}): it adds no copy "
                "on a drive of its own." if plan.source_uncached else  # a cascade's stage 2 reads a copy
                f"{dest} is on the same drive as the card: it is not a backup of it."), dest))
        check_names(pf, dest, scan.files, platform.fstype(root), bool(insensitive), folds_form(probe_dir))
    for dests in volumes.values():
        if len(dests) > 1:
            pf.warnings.append(Problem(Code.SAME_VOLUME, f"{', '.join(dests)} are on one physical drive: "
                                       "they count as one copy, not several.", dests[0]))
    for dests in filesystems.values():
        _check_space(pf, dests, scan.files)
    return pf


HANDOFF_ENTRIES = 3  # what the handoff adds to a roll: the ascmhl folder, a manifest, the chain file


def _check_space(pf: Preflight, dests: list[str], files: Sequence[SourceFile]) -> None:
    """Bytes and file-table entries (inodes) on one filesystem, for every destination it holds: a drive can
    run out of either, and tmpfs, ext4 and most others count both."""
    root = os.path.dirname(os.path.normpath(dests[0]))
    st = os.statvfs(root)
    block = st.f_frsize or 4096
    free = st.f_bavail * block
    need = 0
    entries = 0
    for dest in dests:
        roll_exists = os.path.isdir(dest)
        folders = {"/".join(parts[:i]) for parts in (f.rel_path.split("/") for f in files)
                   for i in range(1, len(parts))}
        entries += HANDOFF_ENTRIES + (0 if roll_exists else 1)
        entries += sum(1 for d in folders if not roll_exists or not os.path.isdir(os.path.join(dest, d)))
        for f in files:
            if roll_exists:
                try:
                    if os.stat(os.path.join(dest, f.rel_path)).st_size == f.size:
                        continue  # already there: will be verified, not rewritten
                except OSError:
                    pass
            need += -(-f.size // block) * block
            entries += 1
    shared = f" (shared by {len(dests)} destinations)" if len(dests) > 1 else ""
    if need > free:
        pf.errors.append(Problem(Code.NO_SPACE, f"Not enough free space on the drive of {root}: the offload "
                                 f"needs {_gb(need)}, the drive has {_gb(free)} free{shared}"
                                 ". Free space or choose a larger drive.", root))
    elif st.f_files and entries > st.f_favail:  # f_files 0: FAT, exFAT, btrfs count no inodes
        pf.errors.append(Problem(Code.NO_SPACE, f"The drive of {root} has no room for that many files: the "
                                 f"offload makes {entries} files and folders, its file table has room for "
                                 f"{st.f_favail} more{shared}, though {_gb(free)} are free. Delete files you no "
                                 "longer need from it, or choose another drive.", root))


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"
