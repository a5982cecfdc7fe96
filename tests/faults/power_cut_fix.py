"""`python -m tests.faults.power_cut_fix ARGS...`: `datawrangler ARGS...` with the durability fix that the
power-cut tests ask of the engine, applied from outside, so the tests show both the bug and that this fix
cures it.

Two changes, both through datawrangler.platform's public functions (the engine looks them up at call time):

- `have_syncfs()` says False, so each copy is fsynced as it closes (`_FsTemp.finish`, the path every OS but
  Linux takes) instead of by one syncfs per batch: syncfs reaches neither a FUSE filesystem's process nor
  the storage behind it (nor an SMB/NFS server), so on such a drive the bytes of a copy called verified
  were never asked to be stored;
- `sync_dir(folder)` also syncs each parent folder up to the mount point: a folder the offload made (the
  roll, CLIPS/, ascmhl/) has its name in its parent, and only a sync of that parent stores it. Without
  this, a power cut right after a VERIFIED offload loses the whole roll folder with every verified copy.

Delete this module (and the tests' use of it) once core/medium/fs.py and handoff/common.py do this.
"""

from __future__ import annotations

import os
import runpy
import sys

from datawrangler import platform

_sync_one = platform.sync_dir


def sync_dir_and_parents(path: str) -> bool:
    """Sync `path`, then its parents up to and including its mount point. True when every sync was done."""
    done = _sync_one(path)
    folder = os.path.abspath(path)
    while not os.path.ismount(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
        done = _sync_one(folder) and done
    return done


def apply() -> None:
    platform.have_syncfs = lambda: False
    platform.sync_dir = sync_dir_and_parents


if __name__ == "__main__":
    apply()
    sys.argv[0] = "datawrangler"
    runpy.run_module("datawrangler", run_name="__main__", alter_sys=True)
