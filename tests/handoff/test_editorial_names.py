"""write_editorial reads the offload's files in one streamed pass (issue 14): it still finds a card file named
like a roll's ALE, and writes that kind nowhere over it while the other kind is written."""

from __future__ import annotations

from pathlib import Path

from datawrangler.handoff.editorial import write_editorial
from datawrangler.handoff.writer import HandoffOptions
from datawrangler.store.db import open_catalog
from tests.handoff.test_ale import META_23976, record
from tests.handoff.test_editorial import _names, two_drives

__all__ = ["two_drives"]


def test_a_card_file_named_like_the_ale_is_never_written_over(two_drives) -> None:  # type: ignore[no-untyped-def]
    rec = two_drives
    record(rec, META_23976)
    roll = str(rec.plan.destinations[0])
    ale, clip_csv = _names(rec, roll)
    db = open_catalog(rec.db_path)
    try:  # the card held a file of the ALE's name at its root (as the listing recorded it)
        db.conn.execute("UPDATE files SET rel_path = ? WHERE id = (SELECT MAX(id) FROM files WHERE offload_id = ?)",
                        (ale, rec.offload_id))
        db.conn.commit()
        result = write_editorial(db, rec.offload_id, HandoffOptions(ale=True, clip_csv=True))
    finally:
        db.close()
    said = [w for w in result.warnings if "the card has a file named" in w]
    assert said == [f"{d}: the card has a file named {ale}; the ale file was not written."
                    for d in map(str, rec.plan.destinations)]
    assert sorted(Path(p).name for p in result.written) == [clip_csv, clip_csv]
