"""app.scheduler: which queued offload may start, given the drives the running ones hold (pure: no Qt); and
app.drives, which tells it the drives of each request."""

from __future__ import annotations

from pathlib import Path

from datawrangler.app.drives import drives_of
from datawrangler.app.offload import run_offload
from datawrangler.app.request import OffloadRequest, resume_request
from datawrangler.app.scheduler import Job, schedule
from datawrangler.config import Settings
from datawrangler.core.events import OffloadControl
from tests.conftest import CardBuilder


def _job(id: int, *drives: str, running: bool = False, label: str = "") -> Job:
    return Job(id, label or f"card{id}", frozenset(drives), running)


def test_cards_on_different_drives_start_side_by_side() -> None:
    out = schedule([_job(1, "card-a", "ssd1"), _job(2, "card-b", "ssd2")])
    assert out.start == (1, 2) and out.waiting == {}


def test_a_card_waits_for_the_running_offload_that_holds_its_drive() -> None:
    out = schedule([_job(1, "card-a", "raid", running=True, label="A001"), _job(2, "card-b", "raid")])
    assert out.start == ()
    assert out.waiting == {2: "A001"}


def test_two_queued_cards_that_share_a_drive_start_one_after_the_other() -> None:
    out = schedule([_job(1, "card-a", "raid"), _job(2, "card-b", "raid")])
    assert out.start == (1,) and out.waiting == {2: "card1"}


def test_queue_order_is_kept_a_later_card_never_overtakes_one_waiting_for_the_same_drive() -> None:
    jobs = [_job(1, "card-a", "raid", running=True, label="A001"),
            _job(2, "card-b", "raid", "ssd"),  # waits for A001 (raid)
            _job(3, "card-c", "ssd")]  # ssd is free, but card 2 came first and wants it
    out = schedule(jobs)
    assert out.start == () and out.waiting == {2: "A001", 3: "card2"}
    # once A001 ends, card 2 starts and card 3 waits for it
    out = schedule(jobs[1:])
    assert out.start == (2,) and out.waiting == {3: "card2"}


def test_a_job_whose_drives_are_not_known_yet_waits_and_blocks_nobody() -> None:
    out = schedule([Job(1, "card1", None), _job(2, "card-b", "raid")])
    assert out.start == (2,) and out.waiting == {}


def test_running_jobs_are_never_started_again() -> None:
    out = schedule([_job(1, "card-a", "raid", running=True)])
    assert out.start == () and out.waiting == {}


def test_a_resume_waits_for_the_drives_its_offload_recorded(make_card: CardBuilder, tmp_path: Path) -> None:
    """A resume request names no drives of its own (the catalog holds its plan): drives_of reads them there,
    so the scheduler does not start it beside an offload writing to the same drive."""
    card = make_card(name="A001R2EC")
    raid = tmp_path / "raid"
    raid.mkdir()
    catalog = tmp_path / "c.sqlite"
    first = OffloadRequest(str(card), (str(raid),), copies_required=1, report=False)
    control = OffloadControl()
    control.cancel()
    stopped = run_offload(first, control, catalog=catalog)
    again = resume_request(stopped.offload_id, "", Settings())
    assert again.dest_roots == () and again.source == ""
    assert drives_of(again, catalog) == drives_of(first) != frozenset()
