"""The merge's writes into a server on a thread of their own, so that reading the other catalog and building
the next rows goes on while the server takes the last ones.

Into a server, a big merge waits on the server more than it works: of a 1,000,000-file merge's 86 s, 54 s
were spent waiting for COPY to be taken in (the server's own foreign-key checks and index entries for five
million rows), and the reads of the other catalog and the id maps took most of the rest, one after the other.
With the writes queued here, both go on at once: the merge's connection is used by this thread alone while
it writes, and the merge reads this catalog again only after `drain` (Merge.read), so what it reads is what it
wrote, as before. The queue is short (QUEUED jobs), so at most a group or two of rows wait in memory.

A job that fails stops the writer: every later job is dropped, and the error is raised in the merge's own
thread at the next submit or drain, where merge_engines turns it into a MergeError and rolls the one
transaction back after `close` has waited for the thread: nothing is written.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

QUEUED = 4  # jobs waiting at most: a job is one table's rows of one group of offloads


class Writer:
    """One thread that runs the merge's write jobs in order, on the merge's connection."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], object] | None] = queue.Queue(maxsize=QUEUED)
        self._failed: BaseException | None = None  # stays: no job runs after one failed
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="merge-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._failed is None and not self._cancelled:
                    job()
            except BaseException as exc:  # handed to the merge's thread, which raises it
                self._failed = exc
            finally:
                self._jobs.task_done()

    def _raise(self) -> None:
        if self._failed is not None:
            raise self._failed

    def submit(self, job: Callable[[], object]) -> None:
        """Queue a write (it blocks while QUEUED jobs wait); raises the error of an earlier job, if one failed."""
        self._raise()
        self._jobs.put(job)

    def drain(self) -> None:
        """Wait until every queued write is done; raises the error of one that failed."""
        self._jobs.join()
        self._raise()

    def close(self, cancel: bool = False) -> None:
        """Stop the thread once its queue is done; `cancel`: the merge failed, so the jobs still queued are
        dropped, not run (the transaction is rolled back once this returns)."""
        self._cancelled = cancel
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
