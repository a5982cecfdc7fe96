"""A drive with no catalog record (it arrived from another unit): check it against its ASC MHL histories,
or add those histories to the catalog (`import`).

Each file is re-read bypassing the OS cache and hashed in the algorithm of its original hash, as the
reference implementation does; missing files, mismatches, files the history does not know (less the
history's ignore patterns) and a broken chain are reported. A history that is refused (handoff.history), or
whose paths lead outside the roll through a symbolic link, is reported and neither read nor imported.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from datawrangler import platform
from datawrangler.core.hashing import MultiHasher
from datawrangler.core.transfer import is_temp_name
from datawrangler.core.words import plural
from datawrangler.handoff.history import ADVICE, History, HistoryError, find_histories, load, load_lenient
from datawrangler.handoff.untrusted import escape_through_links
from datawrangler.store.db import Catalog
from datawrangler.store.handoff import ImportedFile, record_import
from datawrangler.store.handoff_names import ASCMHL_FOLDER, ASCMHL_IGNORE
from datawrangler.store.reads_verify import imported_rolls

CHUNK = 4 << 20


@dataclass
class RollCheck:
    root: str
    generations: int = 0
    checked: int = 0
    verified: int = 0
    mismatches: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.mismatches or self.missing or self.new or self.unreadable or self.problems)


def ignored(patterns: Iterable[str], rel: str, is_dir: bool) -> bool:
    """gitwildmatch as ASC MHL uses it, for the forms its histories hold: a name at any level ('*.tmp',
    'ascmhl'), a folder ('ascmhl/'), or a path ('Clips/*.tmp', '/SDINFO.TXT')."""
    parts = rel.split("/")
    for raw in patterns:
        p = raw[1:] if raw[:2] in ("\\#", "\\!") else raw
        if not p or p.startswith("#"):
            continue
        dir_only = p.endswith("/")
        p = p.rstrip("/")
        if "/" in p:
            if fnmatch.fnmatchcase(rel, p.lstrip("/").replace("**/", "*")) and (is_dir or not dir_only):
                return True
            continue
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if fnmatch.fnmatchcase(part, p) and (not dir_only or not last or is_dir):
                return True
    return False


def _hash(path: str, algorithm: str, buf: bytearray) -> str:
    if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the read, a device never end
        raise OSError(errno.EINVAL, "not a plain file: never read", path)
    mh = MultiHasher([algorithm])
    view = memoryview(buf)
    fd, _bypassed = platform.open_for_verify(path)
    try:
        while n := os.readv(fd, [buf]):
            mh.update(view[:n])
    finally:
        os.close(fd)
    return mh.hexdigests()[algorithm]


def outside_problem(history: History) -> str | None:
    """Why the history cannot be used on this drive: a path it records leads outside its roll through a
    symbolic link (the names themselves were checked when it was read). None: every path stays inside."""
    found = escape_through_links(history.root, history.paths())
    if found is None:
        return None
    rel, real = found
    return (f"The ASC MHL history in {history.folder} records {rel!r}, which leads outside {history.root} through a "
            f"symbolic link (to {real}): the history is refused and none of its files is read. {ADVICE}")


def check_roll(root: str, on_file: Callable[[str, str], None] | None = None) -> RollCheck:
    """Re-read every file the roll's history records, against its original hash. A history that is refused,
    or that leads outside the roll, is reported and nothing is read."""
    out = RollCheck(root)
    history, problems = load_lenient(root)
    out.problems += problems
    if history is None:
        if not problems:
            out.problems.append(f"{root} has no ASC MHL history.")
        return out
    if (outside := outside_problem(history)) is not None:
        out.problems.append(outside)
        return out
    out.generations = len(history.generations)
    buf = bytearray(CHUNK)
    expected = history.expected()
    for rel in sorted(expected):
        original = history.original(rel)
        full = os.path.join(root, *rel.split("/"))
        if original is None:
            continue  # recorded without an original hash: nothing to check it against
        out.checked += 1
        try:
            got = _hash(full, original.algorithm, buf)
        except FileNotFoundError:
            out.missing.append(rel)
            result = "missing"
        except OSError:
            out.unreadable.append(rel)
            result = "unreadable"
        else:
            result = "verified" if got == original.value else "mismatch"
            if result == "verified":
                out.verified += 1
            else:
                out.mismatches.append(rel)
        if on_file is not None:
            on_file(full, result)
    patterns = history.latest_ignore() or ASCMHL_IGNORE
    for dirpath, dirs, names in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirs[:] = sorted(d for d in dirs if d != ASCMHL_FOLDER and not ignored(patterns, rel_dir + d, True))
        for name in sorted(names):
            rel = rel_dir + name
            if rel not in expected and not is_temp_name(name) and not ignored(patterns, rel, False):
                out.new.append(rel)
    return out


def verify_drive(target: str, on_file: Callable[[str, str], None] | None = None) -> list[RollCheck]:
    """Check every ASC MHL history at or under target. [] when there is none."""
    return [check_roll(root, on_file) for root in find_histories(target)]


def _fingerprint(history: History) -> str:
    h = hashlib.sha256()
    for path, rec in sorted(history.paths().items()):
        h.update(f"{path}\0{rec.size}\0{rec.mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return "ascmhl:" + h.hexdigest()


def import_drive(db: Catalog, target: str) -> list[tuple[str, int | None, str]]:
    """Add every ASC MHL history at or under target to the catalog, one 'imported' offload per roll, its
    files recorded 'copied' (not yet read back by this station). [(roll, offload id or None, message)]."""
    out: list[tuple[str, int | None, str]] = []
    for root in find_histories(target):
        try:
            history = load(root)
        except HistoryError as exc:
            out.append((root, None, f"not imported: {exc}"))
            continue
        assert history is not None
        if (outside := outside_problem(history)) is not None:
            out.append((root, None, f"not imported: {outside}"))
            continue
        if root in imported_rolls(db):
            out.append((root, None, "already imported"))
            continue
        files, algorithms = [], []
        for path, rec in history.paths().items():
            digests = history.first_hashes(path)
            for a in digests:
                if a not in algorithms:
                    algorithms.append(a)
            files.append(ImportedFile(path, rec.size or 0, rec.mtime_ns or 0, digests,
                                      f"from ASC MHL generation {history.last_generation(path)}"))
        message = (f"imported {plural(len(files), 'file')} from "
                   f"{plural(len(history.generations), 'ASC MHL generation')}")
        try:
            oid = record_import(db, root, files, algorithms, _fingerprint(history), message)
        except ValueError as exc:  # the catalog's own check of the paths (the history's was first)
            out.append((root, None, f"not imported: {exc}"))
            continue
        out.append((root, oid, message))
    return out
