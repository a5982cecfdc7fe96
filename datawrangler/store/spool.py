"""The spool: an offload's results that the catalog's server did not get, kept on this station until it does.

When the server goes away in the middle of an offload (it stopped, the network went), the copy goes on: the
Recorder puts each batch of results it could not commit into the spool instead, and everything after it too,
so the results stay in the order the engine gave them. The spool is one SQLite file per offload in this
station's data folder (`spool/<offload uuid>.sqlite`), written with synchronous=FULL: a result in the spool
survives a power cut as a committed catalog row would.

Until the spool is delivered, the card is not called safe to format on the strength of records the server has
not got: the offload's verdict says the catalog is offline. Delivery (`deliver` in app.spooled, run by
`datawrangler catalog deliver`, and tried whenever a command or the window opens the server's catalog) replays
each batch through the Recorder's own statements in one transaction, so the server ends with exactly the rows
it would have had, then removes the file. A delivery that fails leaves the file whole, to be tried again.

The batches are pickled: the file is written and read by this station's DataWrangler, never exchanged. A
spool a different version of DataWrangler wrote and this one cannot read is left in place and named.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datawrangler.store.errors import CatalogError
from datawrangler.store.offloads import OffloadRecord

SUFFIX = ".sqlite"
_SCHEMA = ("CREATE TABLE IF NOT EXISTS about (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
           "CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)")


class SpoolError(CatalogError):
    """A spool that cannot be written or read; the message says which file and what to do."""


@dataclass(frozen=True)
class SpoolInfo:
    path: Path
    record: OffloadRecord
    verify_mode: str
    catalog: str  # where its results go, as shown (no password)
    since: float  # when the server was last reached
    batches: int
    results: int  # file results waiting


def folder_of(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / "spool"


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")  # a spooled result must survive a power cut
    for sql in _SCHEMA:
        conn.execute(sql)
    return conn


class Spool:
    """One offload's spool, open for writing (by the Recorder's writer thread)."""

    def __init__(self, folder: Path, record: OffloadRecord, verify_mode: str, catalog: str) -> None:
        self.path = folder / f"{record.uuid}{SUFFIX}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._conn = _connect(self.path)
            about = {"offload_id": str(record.offload_id), "uuid": record.uuid,
                     "destination_ids": json.dumps(list(record.destination_ids)), "verify_mode": verify_mode,
                     "catalog": catalog, "since": repr(time.time())}
            self._conn.executemany("INSERT INTO about (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                                   list(about.items()))
        except (OSError, sqlite3.Error) as exc:
            raise SpoolError(f"The catalog server {catalog} is not answering, and this station's spool {self.path} "
                             f"could not be written either ({exc}). Free space in DataWrangler's data folder; the "
                             "copies themselves are not affected.") from exc
        self.results = 0

    def add(self, batch: list[object], results: int) -> None:
        """Keep one batch (as the Recorder would have committed it); durable when this returns."""
        try:
            self._conn.execute("INSERT INTO batches (data) VALUES (?)",
                               (pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL),))
        except sqlite3.Error as exc:
            raise SpoolError(f"This station's spool {self.path} could not keep the offload's results ({exc}). "
                             "Free space in DataWrangler's data folder; the copies themselves are not "
                             "affected.") from exc
        self.results += results

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()


def pending(folder: Path) -> list[Path]:
    """The spools waiting in a folder, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.suffix == SUFFIX and p.is_file()]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def info(path: Path) -> SpoolInfo:
    """What a spool holds (SpoolError when it cannot be read: it is left as it is)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            about = dict(conn.execute("SELECT key, value FROM about").fetchall())
            batches = int(conn.execute("SELECT COUNT(*) FROM batches").fetchone()[0])
        finally:
            conn.close()
        record = OffloadRecord(int(about["offload_id"]), about["uuid"],
                               tuple(int(i) for i in json.loads(about["destination_ids"])))
        results = sum(sum(1 for item in batch if not isinstance(item, tuple)) for batch in read(path))
        return SpoolInfo(path, record, about["verify_mode"], about["catalog"], float(about["since"]), batches,
                         results)
    except SpoolError:
        raise
    except (OSError, sqlite3.Error, KeyError, ValueError) as exc:
        raise SpoolError(f"The spool {path} cannot be read ({exc}). It was left as it is: it holds offload results "
                         "the catalog server has not got. Keep the file and report this.") from exc


def read(path: Path) -> Iterator[list[object]]:
    """The spool's batches, in the order they were kept."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        for (data,) in conn.execute("SELECT data FROM batches ORDER BY seq"):
            try:
                batch: Any = pickle.loads(data)
            except Exception as exc:  # a different version's objects
                raise SpoolError(f"The spool {path} was written by a different version of DataWrangler and cannot "
                                 f"be read by this one ({exc}). It was left as it is: deliver it with the version "
                                 "that wrote it.") from exc
            yield list(batch)
    finally:
        conn.close()


def set_after(path: Path, after: object) -> None:
    """Keep what the offload asked to be done once its results are in the catalog (its handoff files, its
    report): delivery does it then."""
    conn = _connect(path)
    try:
        conn.execute("INSERT INTO about (key, value) VALUES ('after', ?) ON CONFLICT (key) DO UPDATE SET "
                     "value = excluded.value", (pickle.dumps(after, protocol=pickle.HIGHEST_PROTOCOL).hex(),))
    finally:
        conn.close()


def after(path: Path) -> object | None:
    """What set_after kept (None: nothing)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute("SELECT value FROM about WHERE key = 'after'").fetchone()
    finally:
        conn.close()
    if row is None:
        return None
    try:
        return pickle.loads(bytes.fromhex(row[0]))
    except Exception as exc:
        raise SpoolError(f"The spool {path} was written by a different version of DataWrangler and cannot be read "
                         f"by this one ({exc}). It was left as it is: deliver it with the version that wrote "
                         "it.") from exc


def remove(path: Path) -> None:
    """A delivered spool: gone, with its WAL files."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
