"""cli.output: with --json stdout holds JSON lines only, each with "event"; without it results go to stdout
and warnings and errors to stderr as `warning: …` / `error: …`; writes from several threads never mix;
a line said while the progress bar shows on a terminal goes above the bar."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import pytest

from datawrangler.cli import main
from datawrangler.cli.output import Output
from datawrangler.core.events import ProgressEvent
from tests.conftest import CardBuilder


def _progress(files_done: int = 0, files_total: int = 2) -> ProgressEvent:
    return ProgressEvent(phase="copying", files_total=files_total, files_done=files_done, bytes_total=2,
                         bytes_read=1, work_total=4, work_done=1, current_file="CLIPS/A001C001.mov",
                         destinations=(), speed=1e6, eta_seconds=3.0, elapsed=1.0)


def _json_lines(text: str) -> list[dict]:
    lines = [json.loads(line) for line in text.splitlines()]
    assert all("event" in e for e in lines), lines
    return lines


def test_json_mode_writes_json_lines_only_on_stdout() -> None:
    out, err = io.StringIO(), io.StringIO()
    o = Output(json=True, out=out, err=err)
    o.context["offload_id"] = 7
    o.emit("start", files=3)
    o.line("a line for people")
    o.info("a note for people")
    o.event("mounted", "mounted: /media/A001", volume={"label": "A001"})
    o.say("handoff", "handoff files written: 2", paths=["a", "b"])
    o.warning("two destinations on one drive", "same_volume", path="/d")
    o.error("dest_missing", "No destination /d.")
    o.progress(_progress())
    o.close()
    assert err.getvalue() == ""
    assert _json_lines(out.getvalue()) == [
        {"event": "start", "offload_id": 7, "files": 3},
        {"event": "mounted", "offload_id": 7, "message": "mounted: /media/A001", "volume": {"label": "A001"}},
        {"event": "handoff", "offload_id": 7, "message": "handoff files written: 2", "paths": ["a", "b"]},
        {"event": "warning", "offload_id": 7, "code": "same_volume", "message": "two destinations on one drive",
         "path": "/d"},
        {"event": "error", "offload_id": 7, "code": "dest_missing", "message": "No destination /d."},
    ]


def test_text_mode_results_on_stdout_the_rest_on_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    o = Output(out=out, err=err)
    o.emit("start", files=3)
    o.line("SAFE TO FORMAT")
    o.event("mounted", "mounted: /media/A001")
    o.info("Offload 7: 3 files")
    o.say("handoff", "handoff files written: 2", paths=["a"])
    o.warning("two destinations on one drive", "same_volume")
    o.error("dest_missing", "No destination /d.")
    assert out.getvalue() == "SAFE TO FORMAT\nmounted: /media/A001\n"
    assert err.getvalue() == ("Offload 7: 3 files\nhandoff files written: 2\nwarning: two destinations on one drive\n"
                              "error: No destination /d.\n")


class _SlowStream(io.StringIO):
    """Writes a character at a time, letting other threads run in between: unlocked writers would mix."""

    def write(self, s: str) -> int:
        for ch in s:
            super().write(ch)
            time.sleep(0)
        return len(s)


def test_writes_from_several_threads_do_not_mix() -> None:
    out = _SlowStream()
    o = Output(json=True, out=out, err=io.StringIO())

    def say(n: int) -> None:
        for i in range(30):
            o.emit("file", thread=n, i=i, path="x" * 50)
    threads = [threading.Thread(target=say, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = _json_lines(out.getvalue())
    assert len(events) == 180


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_line_said_during_the_progress_bar_goes_above_it() -> None:
    err = _Terminal()
    o = Output(out=io.StringIO(), err=err)
    assert o.live
    o.progress(_progress())
    o.warning("the card reader is slow")
    o.close()
    lines = err.getvalue().split("\r\x1b[2K")
    assert lines[1].startswith("[") and "0/2 files" in lines[1]  # the bar
    assert lines[2].startswith("warning: the card reader is slow\n")  # took the bar's line
    assert lines[3].startswith("[") and lines[3].endswith("\n")  # the bar again, below it, ended on close
    assert Output(json=True, err=_Terminal()).live is False and Output(quiet=True, err=_Terminal()).live is False


def test_refusals_that_were_words_are_json_with_json(make_card: CardBuilder, capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    card = make_card()
    assert main(["offload", str(card), "--json"]) == 2
    cap = capsys.readouterr()
    assert cap.err == ""
    (e,) = _json_lines(cap.out)
    assert e["event"] == "error" and e["code"] == "no_destination" and "no destination" in e["message"]
    assert main(["history", "--since", "yesterday", "--json"]) == 2
    cap = capsys.readouterr()
    assert cap.err == "" and _json_lines(cap.out)[0]["code"] == "bad_argument"
    assert main(["mhl-write", "1", "--lists", "c4", "--json"]) == 2
    cap = capsys.readouterr()
    assert cap.err == "" and _json_lines(cap.out)[0]["code"] == "bad_argument"
    assert main(["history", "--since", "yesterday"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.startswith("error: 'yesterday' is not a date")


def test_a_bug_exits_70_with_a_sentence_and_the_traceback(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The README's exit code 70 for an internal error: a script can tell a bug from 'finished with errors'."""
    from datawrangler.cli import catalog

    def broken(args: object) -> int:
        raise KeyError("no such column")

    monkeypatch.setattr(catalog, "cmd_history", broken)
    assert main(["--catalog", str(tmp_path / "c.sqlite"), "history", "--json"]) == 70
    out, err = capsys.readouterr()
    (event,) = _json_lines(out)
    assert event["event"] == "error" and event["code"] == "internal"
    assert "hit a bug (KeyError" in event["message"]
    assert "Traceback" in err and "no such column" in err
    assert main(["--catalog", str(tmp_path / "c.sqlite"), "history"]) == 70
    assert "error: DataWrangler hit a bug" in capsys.readouterr().err


def test_file_lines_are_flushed_together_and_every_other_event_at_once() -> None:
    """An offload of 30,000 small files says 30,000 `file` lines: they are flushed with the next other event
    or every FILE_LINES_FLUSH seconds, not one write to the pipe each; any other event is flushed at once,
    with the file lines before it, in order."""
    from datawrangler.cli import output

    class Counting(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            self.flushes += 1
            super().flush()

    out = Counting()
    o = Output(json=True, out=out, err=io.StringIO())
    o.emit("start", files=500)
    assert out.flushes == 1
    for i in range(500):
        o.emit("file", rel_path=f"A001/F{i:04d}.ari", state="verified")
    assert out.flushes <= 1 + 500 * 0.01, out.flushes  # a burst: not one flush a line
    o.emit("done", state="verified")
    assert out.flushes >= 2
    events = _json_lines(out.getvalue())
    assert [e["event"] for e in events] == ["start", *["file"] * 500, "done"]
    assert events[500]["rel_path"] == "A001/F0499.ari"
    before = out.flushes
    time.sleep(output.FILE_LINES_FLUSH + 0.05)
    o.emit("file", rel_path="A001/late.ari", state="verified")  # a file line after a quiet spell goes out
    assert out.flushes == before + 1
