"""The catalog file damaged: truncated, a page overwritten, its header, emptied to 0 bytes; a migration stopped
by a full disk; backups taken daily and before each migration and kept bounded; `datawrangler catalog backups`
and `datawrangler catalog restore`.

Real SQLite files damaged with real bytes, real subprocesses where a crash or a new process matters, and a real
tmpfs that fills up (root; skipped with the reason otherwise). Each damaged catalog must be refused with what
happened, the last good backup and the command that restores it, and must be left byte for byte as it was:
never a new, empty catalog in its place.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datawrangler import cli
from datawrangler.core.words import when
from datawrangler.store import backups, schema
from datawrangler.store import damage as damagemod
from datawrangler.store import db as dbmod
from datawrangler.store.db import CatalogDamaged, CatalogError, backup_path, open_catalog
from tests.integration.conftest import TmpfsFactory, tmpfs_mount
from tests.store.conftest import RunCli
from tests.store.revisions import add_revision

__all__ = ["tmpfs_mount"]

REPO = Path(__file__).resolve().parents[2]
PAGE = 4096
DAY = 24 * 3600


@pytest.fixture
def new_process(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """new_process(): the next open_catalog is this process's first of the file, as at a start (the quick check
    runs once per process; a test that damages a file it opened itself is a new start)."""
    return lambda: monkeypatch.setattr(dbmod, "_checked", set())


@pytest.fixture
def dwc(dw: RunCli) -> RunCli:
    """The command line as a user runs it (the `catalog` commands are registered by build_parser)."""
    return dw


def _record(path: Path, first: int, count: int, files: int = 300) -> None:
    """`count` offloads (ids from `first`) of `files` files each, as the recorder writes them."""
    db = open_catalog(path)
    try:
        with db.atomic():
            for k in range(first, first + count):
                db.conn.execute("INSERT INTO offloads (id, uuid, reel, source, plan, state, started_at, files_total) "
                                "VALUES (?, ?, ?, ?, '{}', 'verified', ?, ?)",
                                (k, f"u-{k}", f"A{k:03d}", f"/media/A{k:03d}", 1_697_000_000.0 + k, files))
                db.conn.executemany(
                    "INSERT INTO files (offload_id, rel_path, size, mtime_ns, digests, status) "
                    "VALUES (?, ?, ?, ?, ?, 'verified')",
                    [(k, f"A{k:03d}R2EC/A{k:03d}C{i // 100:03d}_231014_R2EC/A{k:03d}C{i:04d}.ari", 8_000_000 + i,
                      1_697_000_000_000_000_000 + i, f'{{"xxh64": "{i * 7919 % 2**64:016x}"}}') for i in range(files)])
    finally:
        db.close()


def _offloads(path: Path) -> list[str]:
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [r[0] for r in con.execute("SELECT uuid FROM offloads ORDER BY id")]
    finally:
        con.close()


def _integrity(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


@pytest.fixture
def history(tmp_path: Path, new_process: Callable[[], None]) -> Iterator[tuple[Path, Path]]:
    """A catalog with two offloads, backed up by the daily backup an hour ago, then a third offload recorded:
    (catalog, its backup). The backup holds u-1 and u-2; the catalog u-1, u-2 and u-3."""
    cat = tmp_path / "data" / "catalog.sqlite"
    cat.parent.mkdir()
    _record(cat, 1, 2)
    assert not backups.list_backups(cat), "the open that recorded them found an empty catalog: nothing to back up"
    open_catalog(cat).close()  # the next start: a catalog with offloads and no backup takes one
    (daily,) = backups.list_backups(cat)
    assert daily.kind == backups.DAILY
    hour_ago = time.time() - 3600
    os.utime(daily.path, (hour_ago, hour_ago))
    _record(cat, 3, 1)
    assert _offloads(cat) == ["u-1", "u-2", "u-3"] and _offloads(daily.path) == ["u-1", "u-2"]
    new_process()
    yield cat, daily.path


def _overwrite(path: Path, offset: int, length: int, seed: int = 16) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(random.Random(seed).randbytes(length))


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(size)


def _pages(path: Path) -> int:
    return path.stat().st_size // PAGE


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated to half": (lambda p: _truncate(p, p.stat().st_size // 2), "it is truncated: "),
    "truncated inside a page": (lambda p: _truncate(p, p.stat().st_size - PAGE * 3 - 700), "it is truncated: "),
    "truncated to 0 bytes": (lambda p: _truncate(p, 0), "it is empty (0 bytes): it was truncated"),
    "truncated inside its header": (lambda p: _truncate(p, 60), "shorter than an SQLite header"),
    "a page in the middle overwritten": (lambda p: _overwrite(p, _pages(p) // 2 * PAGE, PAGE),
                                         "pages of it are damaged"),
    "the last page overwritten": (lambda p: _overwrite(p, (_pages(p) - 1) * PAGE, PAGE), "pages of it are damaged"),
    "page 2 overwritten": (lambda p: _overwrite(p, PAGE, PAGE), "pages of it are damaged"),
    "the header overwritten": (lambda p: _overwrite(p, 0, 100), "its header is damaged"),
    "the header's page size": (lambda p: _overwrite(p, 16, 2), "its header is damaged"),
}


@pytest.mark.parametrize("fault", list(DAMAGE))
def test_a_damaged_catalog_is_refused_untouched_and_names_the_last_good_backup(
        history: tuple[Path, Path], fault: str) -> None:
    cat, daily = history
    damage, said = DAMAGE[fault]
    damage(cat)
    before = cat.read_bytes()
    with pytest.raises(CatalogDamaged) as err:
        open_catalog(cat)
    msg = str(err.value)
    assert said in err.value.what and said in msg
    assert "It was left untouched, and no new catalog was made in its place" in msg
    assert err.value.backup is not None and err.value.backup.path == daily
    assert f"The last good backup is {daily.name}, taken {when(daily.stat().st_mtime)} (1 hour ago)" in msg
    assert f"'datawrangler catalog restore --catalog {cat}' puts that one in place" in msg
    assert cat.read_bytes() == before, "the damaged catalog must be left byte for byte as it was"
    assert _offloads(daily) == ["u-1", "u-2"], "and the backup as it was"


def test_a_damaged_catalog_is_refused_at_the_start_of_a_command(history: tuple[Path, Path]) -> None:
    """A real start: `datawrangler history` in a new process on a catalog with a page overwritten."""
    cat, daily = history
    _overwrite(cat, _pages(cat) // 2 * PAGE, PAGE)
    before = cat.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "datawrangler", "history", "--catalog", str(cat)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "pages of it are damaged" in proc.stderr and f"The last good backup is {daily.name}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert cat.read_bytes() == before


def test_an_empty_catalog_file_without_backups_is_a_new_catalog(tmp_path: Path) -> None:
    """A crash before the first commit leaves 0 bytes and nothing was lost: that one starts as a new catalog."""
    cat = tmp_path / "catalog.sqlite"
    cat.write_bytes(b"")
    open_catalog(cat).close()
    assert _offloads(cat) == [] and _integrity(cat) == "ok"


def test_the_newest_backup_damaged_too_the_one_before_is_named(history: tuple[Path, Path]) -> None:
    cat, daily = history
    older = backups.before_migration_path(cat, 2)
    con = sqlite3.connect(daily)
    try:
        backups.take(con, older)
    finally:
        con.close()
    two_days_ago = time.time() - 2 * DAY
    os.utime(older, (two_days_ago, two_days_ago))
    _overwrite(daily, PAGE * 2, PAGE)
    _overwrite(cat, PAGE * 2, PAGE)
    with pytest.raises(CatalogDamaged) as err:
        open_catalog(cat)
    assert err.value.backup is not None and err.value.backup.path == older
    assert f"The last good backup is {older.name}, taken {when(two_days_ago)} (2 days ago)" in str(err.value)


def test_without_a_backup_the_message_says_how_to_start_again(tmp_path: Path) -> None:
    cat = tmp_path / "catalog.sqlite"
    _record(cat, 1, 1)
    _overwrite(cat, PAGE, PAGE)
    with pytest.raises(CatalogDamaged) as err:
        open_catalog(cat)
    msg = str(err.value)
    assert err.value.backup is None
    assert "No good backup of it was found beside it (catalog.sqlite.bak-*)" in msg
    assert f"restore a backup with 'datawrangler catalog restore --catalog {cat} PATH'" in msg
    assert "move the damaged file away (rename it) and DataWrangler starts a new, empty catalog" in msg


def test_a_catalog_locked_by_another_process_is_not_called_damaged(
        history: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock held past the busy timeout is another DataWrangler at work, not damage: never offer a restore."""
    cat, _daily = history
    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT", 0.3)
    script = textwrap.dedent(f"""
        import sqlite3, sys, time
        con = sqlite3.connect({str(cat)!r})
        con.execute("PRAGMA locking_mode = EXCLUSIVE")
        con.execute("BEGIN EXCLUSIVE")
        con.execute("INSERT INTO events (at, kind) VALUES (1.0, 'holding')")
        print("locked", flush=True)
        time.sleep(60)
    """)
    holder = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(CatalogError) as err:
            open_catalog(cat)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert not isinstance(err.value, CatalogDamaged), str(err.value)
    assert "could not be read (database is locked). It was not changed." in str(err.value)
    assert "If another DataWrangler is using it, wait for it" in str(err.value)
    open_catalog(cat).close()  # the lock gone, it opens as it was
    assert _offloads(cat) == ["u-1", "u-2", "u-3"]



def _asked_by_another_process(cat: Path, sql: str) -> str:
    """What another process is told when it runs `sql` on the catalog without waiting for a lock (timeout 0)."""
    script = textwrap.dedent(f"""
        import sqlite3
        con = sqlite3.connect({str(cat)!r}, timeout=0, isolation_level=None)
        try:
            con.execute({sql!r}).fetchall()
            print("granted")
        except sqlite3.OperationalError as exc:
            print(exc)
    """)
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=True).stdout.strip()


# what a connection of this process holds: (its journal mode, the statements that take the lock, what another
# process asks for that the lock must refuse)
HELD: dict[str, tuple[str, tuple[str, ...], str]] = {
    "a write transaction (rollback journal)": ("delete", ("BEGIN IMMEDIATE",), "BEGIN IMMEDIATE"),
    # the check's own connection is refused too: it reads the header and finds the file whole without SQLite
    "an exclusive lock (rollback journal)": ("delete", ("BEGIN EXCLUSIVE",), "BEGIN IMMEDIATE"),
    # the catalog as it runs: the reader's lock is what keeps another process's last close from taking the
    # exclusive lock and removing the -wal and -shm files under it
    "a read transaction (WAL)": ("wal", ("BEGIN", "SELECT count(*) FROM offloads"), "PRAGMA journal_mode = DELETE"),
}


@pytest.mark.parametrize("held", list(HELD))
def test_the_damage_check_never_drops_a_lock_this_process_holds(tmp_path: Path, held: str) -> None:
    """The damage check of a catalog that a connection of this same process already holds a lock on (an engine
    opened before store.db, a backup). On POSIX, closing any descriptor of a file drops every lock the process
    holds on it, SQLite's included: a check that opened and closed the file itself left the connection without
    its lock, and another process could write, or switch the journal mode, under it."""
    cat = tmp_path / "catalog.sqlite"
    _record(cat, 1, 1)
    mode, take, asked = HELD[held]
    con = sqlite3.connect(cat, isolation_level=None)
    try:
        assert con.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0] == mode
        for sql in take:
            con.execute(sql).fetchall()
        assert _asked_by_another_process(cat, asked) == "database is locked", "the lock is held before the check"
        assert damagemod.inspect(cat, timeout=0.2) is None
        assert _asked_by_another_process(cat, asked) == "database is locked", "the check dropped the lock"
        assert con.in_transaction
    finally:
        con.close()
    assert _offloads(cat) == ["u-1"] and _integrity(cat) == "ok"


# ---- backups: the daily schedule, the integrity check of each copy, how many are kept ----

def test_the_daily_backup_is_taken_once_a_day_and_is_a_checked_plain_file(tmp_path: Path) -> None:
    cat = tmp_path / "catalog.sqlite"
    _record(cat, 1, 2)
    open_catalog(cat).close()
    (first,) = backups.list_backups(cat)
    assert first.kind == backups.DAILY and first.version == schema.schema_version()
    assert _offloads(first.path) == ["u-1", "u-2"] and _integrity(first.path) == "ok"
    assert first.path.read_bytes()[18:20] == b"\x01\x01", "a rollback-journal file: reading it leaves no -wal"
    open_catalog(cat).close()
    assert backups.list_backups(cat) == [first], "younger than a day: no second backup"
    day_ago = time.time() - DAY - 60  # as if taken yesterday: its name and its time
    yesterday = backups.daily_path(cat, day_ago)
    first.path.rename(yesterday)
    os.utime(yesterday, (day_ago, day_ago))
    _record(cat, 3, 1)  # this open takes the next daily backup, before the third offload is recorded
    newest, older = backups.list_backups(cat)
    assert older.path == yesterday and newest.kind == backups.DAILY
    assert _offloads(newest.path) == ["u-1", "u-2"]
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.bak-*-wal"))


def test_a_damaged_catalog_is_never_backed_up(tmp_path: Path) -> None:
    """The backup API copies pages without reading what is in them: the copy's integrity check refuses it."""
    cat = tmp_path / "catalog.sqlite"
    _record(cat, 1, 3)
    _overwrite(cat, PAGE, PAGE)
    con = sqlite3.connect(cat)
    try:
        with pytest.raises(backups.BackupFailed, match=r"fails SQLite's integrity check: SQLite: database disk image"):
            backups.take(con, backups.daily_path(cat, time.time()))
    finally:
        con.close()
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.sqlite"], "nothing under the backup's or a temp name"


def _change_an_index_key(cat: Path) -> None:
    """One byte of a key in the (one-page) index of the files' paths: the page stays well formed, so the quick
    check passes; only a full integrity check sees that the index no longer matches its table."""
    con = sqlite3.connect(cat)
    try:
        (root,) = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'idx_files_offload_id_rel_path'"
                              ).fetchone()
    finally:
        con.close()
    data = bytearray(cat.read_bytes())
    page = data[(root - 1) * PAGE:root * PAGE]
    at = (root - 1) * PAGE + page.index(b"A001C0005.ari")
    data[at + 8] = ord("6")  # A001C0005 -> A001C0006: a key that no row has
    cat.write_bytes(bytes(data))


def test_damage_only_the_integrity_check_sees_is_caught_by_the_daily_backup(
        tmp_path: Path, new_process: Callable[[], None]) -> None:
    cat = tmp_path / "catalog.sqlite"
    _record(cat, 1, 1, files=10)
    _change_an_index_key(cat)
    new_process()
    con = sqlite3.connect(cat)
    try:
        assert con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert "missing from index" in con.execute("PRAGMA integrity_check").fetchone()[0]
        with pytest.raises(backups.BackupFailed, match="a copy of it fails SQLite's integrity check"):
            backups.take(con, backups.daily_path(cat, time.time()))
    finally:
        con.close()
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.sqlite"], "nothing under the backup's or a temp name"
    before = cat.read_bytes()
    with pytest.raises(CatalogDamaged) as err:  # the next start: the daily backup is due, and finds it
        open_catalog(cat)
    assert "a copy of it fails SQLite's integrity check" in str(err.value) and "missing from index" in str(err.value)
    assert cat.read_bytes() == before and backups.list_backups(cat) == []


def test_backups_are_kept_bounded(tmp_path: Path) -> None:
    cat = tmp_path / "catalog.sqlite"
    _record(cat, 1, 1, files=10)
    now = time.time()
    con = sqlite3.connect(cat)
    try:
        for day in range(1, 11):  # ten daily backups, 1..10 days old
            at = now - day * DAY
            os.utime(backups.take(con, backups.daily_path(cat, at)), (at, at))
        for version in range(1, 6):  # five pre-migration backups, the newest of version 5
            at = now - (20 - version) * DAY
            os.utime(backups.take(con, backups.before_migration_path(cat, version)), (at, at))
        stale, writing = cat.with_name(cat.name + ".bak-v9.123-4.tmp"), cat.with_name(cat.name + ".bak-v9.5-6.tmp")
        stale.write_bytes(b"left by a process that died")
        writing.write_bytes(b"another process is writing it now")
        os.utime(stale, (now - 2 * 3600, now - 2 * 3600))
        taken = backups.take_daily_if_due(con, cat, now)
    finally:
        con.close()
    assert taken == backups.daily_path(cat, now)
    kept = backups.list_backups(cat)
    assert [b.kind for b in kept].count(backups.DAILY) == backups.KEEP_DAILY == 7
    assert [b.path for b in kept if b.kind == backups.DAILY] == [taken] + [
        backups.daily_path(cat, now - day * DAY) for day in range(1, 7)]
    assert [b.path.name for b in kept if b.kind == backups.BEFORE_MIGRATION] == [
        "catalog.sqlite.bak-v5", "catalog.sqlite.bak-v4", "catalog.sqlite.bak-v3"]
    assert not stale.exists() and writing.exists()
    assert [round((now - b.taken_at) / DAY) for b in kept] == [0, 1, 2, 3, 4, 5, 6, 15, 16, 17]
    assert kept[1].describe(now).startswith(
        f"{kept[1].path.name} (daily, schema version {schema.schema_version()}, taken ")
    assert "24 hours ago" in kept[1].describe(now) and "17 days ago" in kept[-1].describe(now)


def test_a_migration_backs_up_first_under_the_name_earlier_versions_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cat = tmp_path / "catalog.sqlite"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])
        _record(cat, 1, 2)
    open_catalog(cat).close()
    bak = backup_path(cat, 2)
    assert bak.name == "catalog.sqlite.bak-v2"
    (listed,) = backups.list_backups(cat)  # the pre-migration backup is fresh: no daily one besides it
    assert listed.path == bak and listed.kind == backups.BEFORE_MIGRATION and listed.version == 2
    assert backups.problem(bak) is None and _offloads(bak) == ["u-1", "u-2"]


# ---- the disk full while migrating (a real tmpfs) ----

def _old_catalog_on(mount: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A version-2 catalog of 6,000 files on the mount."""
    cat = mount / "catalog.sqlite"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])
        _record(cat, 1, 3, files=2000)
    return cat


def _leave_free(mount: Path, room: int) -> Path:
    """Take the mount's space but `room` bytes with one file (allocated, not sparse)."""
    st = os.statvfs(mount)
    free = st.f_bavail * st.f_frsize
    assert free > room, f"the tmpfs is too small for this test: {free} free, {room} to leave"
    filler = mount / "filler"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.posix_fallocate(fd, 0, free - room)
    finally:
        os.close(fd)
    return filler


@pytest.mark.root
@pytest.mark.parametrize("fills", ["during the backup", "during the migration"])
def test_a_migration_on_a_disk_that_fills_up_leaves_the_catalog_intact(
        tmpfs_mount: TmpfsFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fills: str) -> None:
    mount = Path(tmpfs_mount(24 << 20))
    cat = _old_catalog_on(mount, monkeypatch)
    before = cat.read_bytes()
    size = len(before)
    bak = backup_path(cat, 2)
    if fills == "during the backup":
        filler = _leave_free(mount, size // 2)
    else:
        # a later version's migration (an Alembic revision) that needs room: an index over every file's
        # path and digests, after store.schema's migrations 3 and 4 in the same transaction
        add_revision(tmp_path, monkeypatch, """
            op.create_index("files_everything", "files", ["rel_path", "digests", "size", "mtime_ns"])
        """)
        filler = _leave_free(mount, size + (192 << 10))  # the backup fits; the new index does not
    target = schema.schema_version()
    with pytest.raises(CatalogError) as err:
        open_catalog(cat)
    msg = str(err.value)
    assert not isinstance(err.value, CatalogDamaged)
    assert "the disk that holds it is full" in msg and "Free space on that disk" in msg
    if fills == "during the backup":
        assert f"must be migrated from schema version 2 to {target}" in msg
        assert "the backup could not be written" in msg and "Nothing was changed: the catalog is still version 2" in msg
        assert not bak.exists() and not list(mount.glob("*.tmp")), "no partial backup left"
    else:
        assert f"could not be migrated from schema version 2 to {target}" in msg
        assert "The migration was undone: the catalog is still version 2, with everything it held." in msg
        assert f"The backup taken just before it is {bak.name} ({when(bak.stat().st_mtime)})" in msg
        assert backups.problem(bak) is None and _offloads(bak) == ["u-1", "u-2", "u-3"]
    assert cat.read_bytes() == before, "the catalog file itself was never written"
    assert _integrity(cat) == "ok" and _offloads(cat) == ["u-1", "u-2", "u-3"]
    filler.unlink()
    db = open_catalog(cat)  # room again: backed up and migrated
    try:
        assert db.conn.execute("PRAGMA user_version").fetchone()[0] == target
        assert [r[0] for r in db.conn.execute("SELECT uuid FROM offloads ORDER BY id")] == ["u-1", "u-2", "u-3"]
    finally:
        db.close()
    assert backups.problem(bak) is None


@pytest.mark.root
def test_a_daily_backup_on_a_full_disk_does_not_stop_the_catalog(
        tmpfs_mount: TmpfsFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    mount = Path(tmpfs_mount(24 << 20))
    cat = mount / "catalog.sqlite"
    _record(cat, 1, 3, files=2000)
    filler = _leave_free(mount, cat.stat().st_size // 2)
    with caplog.at_level(logging.WARNING, logger="datawrangler.store.db"):
        open_catalog(cat).close()
        open_catalog(cat).close()  # not tried again on every open
    warned = [r.getMessage() for r in caplog.records if "daily backup" in r.getMessage()]
    assert len(warned) == 1 and "could not be written" in warned[0] and "Free space on its disk" in warned[0]
    assert backups.list_backups(cat) == [] and not list(mount.glob("*.tmp"))
    assert _integrity(cat) == "ok"
    filler.unlink()
    monkeypatch.setattr(dbmod, "_daily_retry", {})  # the next start
    open_catalog(cat).close()
    (daily,) = backups.list_backups(cat)
    assert _offloads(daily.path) == ["u-1", "u-2", "u-3"]


# ---- datawrangler catalog backups / restore ----

def test_catalog_backups_lists_them_newest_first_with_the_last_good_one(
        dwc: RunCli, history: tuple[Path, Path]) -> None:
    cat, daily = history
    _overwrite(cat, PAGE, PAGE)
    code, events = dwc("catalog", "backups", "--catalog", str(cat))
    assert code == 0
    (ev,) = events
    assert ev["damaged"] and "pages of it are damaged" in ev["problem"]
    assert ev["last_good"] == str(daily)
    assert [(b["name"], b["kind"], b["age"], b["last_good"]) for b in ev["backups"]] == [
        (daily.name, "daily", "1 hour ago", True)]


def test_catalog_restore_puts_the_last_good_backup_in_place_and_keeps_the_damaged_file(
        dwc: RunCli, history: tuple[Path, Path]) -> None:
    cat, daily = history
    _overwrite(cat, PAGE, PAGE)
    damaged = cat.read_bytes()
    code, events = dwc("catalog", "restore", "--catalog", str(cat))
    assert code == 0, events
    (ev,) = events
    aside = Path(ev["set_aside"])
    assert aside.parent == cat.parent and aside.name.startswith("catalog.sqlite.damaged-")
    assert aside.read_bytes() == damaged, "moved aside, byte for byte, never deleted"
    assert ev["backup"] == str(daily) and daily.exists(), "the backup stays a backup"
    assert f"Restored {daily.name}" in ev["message"] and "'datawrangler import DRIVE'" in ev["message"]
    assert _offloads(cat) == ["u-1", "u-2"]
    db = open_catalog(cat)
    db.close()
    assert _integrity(cat) == "ok"


def test_catalog_restore_moves_a_stale_write_ahead_log_aside_too(dwc: RunCli, history: tuple[Path, Path]) -> None:
    """A process killed with offloads in the write-ahead log: its frames belong to the damaged file. Left
    under the catalog's name, SQLite would replay them into the restored backup."""
    cat, daily = history
    script = textwrap.dedent(f"""
        import os, signal, sqlite3
        con = sqlite3.connect({str(cat)!r})
        con.execute("PRAGMA wal_autocheckpoint = 0")
        for k in range(10, 40):
            con.execute("INSERT INTO offloads (id, uuid, source, plan, state, started_at) "
                        "VALUES (?, ?, '/media/late', '{{}}', 'verified', 1.0)", (k, f"late-{{k}}"))
            con.commit()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, check=False)
    assert proc.returncode == -signal.SIGKILL
    wal = Path(f"{cat}-wal")
    assert wal.stat().st_size > 0
    _overwrite(cat, 0, 100)
    code, events = dwc("catalog", "restore", "--catalog", str(cat))
    assert code == 0, events
    aside = Path(events[0]["set_aside"])
    assert events[0]["backup"] == str(daily)
    assert Path(f"{aside}-wal").stat().st_size > 0 and not wal.exists()
    open_catalog(cat).close()
    assert _offloads(cat) == ["u-1", "u-2"] and _integrity(cat) == "ok"


def test_catalog_restore_a_chosen_backup_by_name(dwc: RunCli, history: tuple[Path, Path]) -> None:
    cat, daily = history
    older = backups.before_migration_path(cat, 3)
    con = sqlite3.connect(daily)
    try:
        backups.take(con, older)
    finally:
        con.close()
    con = sqlite3.connect(older)
    con.execute("DELETE FROM offloads WHERE uuid = 'u-2'")
    con.commit()
    con.close()
    _truncate(cat, cat.stat().st_size // 3)
    code, events = dwc("catalog", "restore", older.name, "--catalog", str(cat))
    assert code == 0, events
    assert _offloads(cat) == ["u-1"]


def test_catalog_restore_refuses_a_healthy_catalog_without_force(dwc: RunCli, history: tuple[Path, Path]) -> None:
    cat, daily = history
    before = cat.read_bytes()
    code, events = dwc("catalog", "restore", "--catalog", str(cat))
    assert code == 2
    assert events[0]["code"] == "catalog_not_damaged" and "Nothing was changed" in events[0]["message"]
    assert cat.read_bytes() == before and _offloads(cat) == ["u-1", "u-2", "u-3"]
    code, events = dwc("catalog", "restore", "--catalog", str(cat), "--force")
    assert code == 0 and events[0]["backup"] == str(daily)
    aside = Path(events[0]["set_aside"])
    assert aside.name.startswith("catalog.sqlite.replaced-") and aside.read_bytes() == before
    assert _offloads(cat) == ["u-1", "u-2"]


def test_catalog_restore_refuses_a_damaged_backup_and_changes_nothing(
        dwc: RunCli, history: tuple[Path, Path]) -> None:
    cat, daily = history
    _overwrite(cat, PAGE, PAGE)
    _overwrite(daily, PAGE * 2, PAGE)
    before = cat.read_bytes()
    code, events = dwc("catalog", "restore", daily.name, "--catalog", str(cat))
    assert code == 2 and events[0]["code"] == "bad_backup"
    assert "cannot be restored: it is damaged" in events[0]["message"]
    code, events = dwc("catalog", "restore", "--catalog", str(cat))
    assert code == 2 and events[0]["code"] == "no_backup"
    assert cat.read_bytes() == before
    assert not list(cat.parent.glob("*.damaged-*")) and not list(cat.parent.glob("*.tmp"))


def test_catalog_backups_for_people(dwc: RunCli, history: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cat, daily = history
    _overwrite(cat, PAGE, PAGE)
    dwc("catalog", "backups", "--catalog", str(cat))  # registers the command (see dwc)
    capsys.readouterr()
    assert cli.main(["catalog", "backups", "--catalog", str(cat)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"Catalog {cat}: DAMAGED: pages of it are damaged")
    assert lines[1] == "1 backup, newest first (kept: the last 7 daily, the last 3 before a migration):"
    assert lines[2].split()[:4] == [daily.name, "daily", *when(daily.stat().st_mtime).split()]
    assert "1 hour ago" in lines[2] and lines[2].endswith(f"schema {schema.schema_version()}  last good")
    assert lines[3] == f"To restore the last good one: datawrangler catalog restore --catalog {cat}"


def test_catalog_restore_from_a_copy_kept_elsewhere(dwc: RunCli, history: tuple[Path, Path], tmp_path: Path) -> None:
    """No backup beside it (the folder was lost with the disk): a copy of the catalog on a shuttle drive."""
    cat, daily = history
    shuttle = tmp_path / "shuttle" / "catalog copy.sqlite"
    shuttle.parent.mkdir()
    daily.rename(shuttle)
    _truncate(cat, 0)
    code, events = dwc("catalog", "restore", str(shuttle), "--catalog", str(cat))
    assert code == 0, events
    assert _offloads(cat) == ["u-1", "u-2"] and shuttle.exists()
    assert Path(events[0]["set_aside"]).stat().st_size == 0, "the emptied file, kept aside as it was"
