"""PowerCutFS: a test-only FUSE passthrough whose *durable* state follows a strict model, so a test can cut
the power at any point and see exactly what a strict filesystem would keep.

The model (stricter than ext4 in its default mode, as POSIX allows and as some filesystems behave):

- a regular file's **data** (and size, mode, modification time) become durable only at ``fsync`` of that file
  (``fdatasync``: the data and size, not the time). ``syncfs``/``sync`` do nothing here: a FUSE filesystem
  outside virtiofs is never told of them by the kernel, and neither is the storage behind it;
- a **name** (create, mkdir, symlink, link, rename, unlink, rmdir) becomes durable only at ``fsync`` of the
  folder that holds it (``fsyncdir``): the folder's whole list of entries as it is then. A new folder is
  durable only once its parent was synced; its own entries only once it was;
- a name made durable for a file whose data never was is an empty file after the cut (the classic zero-length
  file); a file renamed after its data was synced but before its new folder was synced is back under its old
  (temp) name after the cut, or gone if that name was never synced either.

The filesystem mirrors a *backing* folder at a *mountpoint* in its own process (``python -m tests.powercutfs
BACKING MOUNTPOINT --state DIR --control FILE``), like tests/faultfs.py. It keeps the durable state beside
the backing folder (``DIR/durable.json`` and ``DIR/data/<id>``, updated inside each fsync/fsyncdir). A cut is
``freeze`` (from then on every request blocks, as on a machine that lost power: the test SIGKILLs the writer),
then ``release`` (blocked and later requests fail with EIO), unmount, :func:`restore` of the backing folder to
the durable state, and a fresh mount: no page, attribute or name cache survives. :class:`PowerCutMount` does
the whole cycle (:meth:`PowerCutMount.power_cut`) and can arm a cut after the Nth changing request
(:meth:`PowerCutMount.cut_after`), so it lands inside a real offload.
"""

from __future__ import annotations

import argparse
import contextlib
import errno as errno_mod
import fnmatch
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.faultfs import DEFAULT_OPTIONS, UTIME_NOW, UTIME_OMIT, _format_options, _PathLike, _umount

REPO = Path(__file__).resolve().parents[1]
ROOT_ID = 1
#: the requests that change something: the ones a cut can be armed to follow (``cut_after``)
CHANGING_OPS = frozenset({"create", "mknod", "mkdir", "symlink", "link", "rename", "unlink", "rmdir", "write",
                          "truncate", "utimens", "chmod", "chown", "fsync", "fsyncdir"})
FREEZE_LIMIT = 60.0  # seconds a frozen request waits for the release before failing by itself


def _fail(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "file"


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value), encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------------
# filesystem side (runs in the child process)


class PowerCutFS:
    """fusepy operations object. Every request runs under one lock, so the durable state a cut finds is the
    one the requests before it left, never half of one."""

    use_ns = True

    def __init__(self, backing: str, state: str, control: str) -> None:
        self.backing = os.path.realpath(backing)
        self.state = Path(state)
        self.control = control
        (self.state / "data").mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._ids: dict[int, int] = {}  # backing inode number -> id (ids are never reused; inode numbers are)
        self._next = ROOT_ID
        self._inodes: dict[int, dict[str, Any]] = {}  # durable: id -> kind, data, mode, mtime_ns, target
        self._dirs: dict[int, dict[str, int]] = {}  # durable: folder id -> {name: id}
        self._control_key: tuple[int, int, int] | None = None
        self._cut_after: int | None = None
        self._cut_glob: str | None = None
        self._cut_ops: frozenset[str] | None = None
        self._counted = 0  # changing requests this session
        self._by_op: dict[str, int] = {}  # of them, how many of each operation
        self._matched = 0  # of them, those the armed cut counts
        self._frozen = False
        self._released = False
        self._snapshot_backing()
        # the control file is also read between requests, so a cut or a release needs no request to land
        threading.Thread(target=self._watch, name="powercut-control", daemon=True).start()

    # -- plumbing ----------------------------------------------------------------------------------

    def __call__(self, op: str, path: str | None, *args: Any) -> Any:
        if op in ("init", "destroy", "release", "releasedir"):
            return getattr(self, op)(path, *args)
        self._refresh()
        self._wait_if_dead()
        with self._lock:
            self._wait_if_dead()
            result = getattr(self, op)(path, *args)
            if op in CHANGING_OPS:
                self._counted += 1
                self._by_op[op] = self._by_op.get(op, 0) + 1
                if self._counts(op, [path, *(a for a in args if isinstance(a, str))]):
                    self._matched += 1
                if self._cut_after is not None and self._matched >= self._cut_after:
                    self._cut(op, path)
            return result

    def _counts(self, op: str, names: list[str | None]) -> bool:
        """Does the armed cut count this request? (rename/link: by either name)"""
        if self._cut_ops is not None and op not in self._cut_ops:
            return False
        glob = self._cut_glob
        return glob is None or any(fnmatch.fnmatchcase((n or "").lstrip("/"), glob) for n in names)

    def _full(self, path: str) -> str:
        return os.path.join(self.backing, path.lstrip("/"))

    def _refresh(self) -> None:
        try:
            st = os.stat(self.control)
        except FileNotFoundError:
            return
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self._control_key:
            return
        try:
            with open(self.control, encoding="utf-8") as f:
                control = json.load(f)
        except (OSError, ValueError):
            return
        with self._lock:
            self._control_key = key
            ops = control.get("cut_ops")
            armed = (control.get("cut_after"), control.get("cut_glob"), None if ops is None else frozenset(ops))
            if armed != (self._cut_after, self._cut_glob, self._cut_ops):  # counted from the moment it is armed
                self._cut_after, self._cut_glob, self._cut_ops = armed
                self._matched = 0
            if control.get("freeze") and not self._frozen:
                self._cut("freeze", None)
            self._released = bool(control.get("release"))

    def _watch(self) -> None:
        while True:
            time.sleep(0.01)
            self._refresh()

    def _cut(self, op: str, path: str | None) -> None:
        """The power goes: nothing after this request reaches the durable state."""
        self._frozen = True
        _write_json(self.state / "cut.json", {"op": op, "path": path, "counted": self._counted,
                                              "matched": self._matched})

    def _wait_if_dead(self) -> None:
        if not self._frozen:
            return
        deadline = time.monotonic() + FREEZE_LIMIT
        while not self._released and time.monotonic() < deadline:
            time.sleep(0.02)
            self._refresh()
        raise _fail(errno_mod.EIO)

    # -- the durable state -------------------------------------------------------------------------

    def _new_id(self, path: str) -> int:
        """A new inode was made at path: give it a fresh id (its inode number may be a reused one)."""
        ino = os.lstat(self._full(path)).st_ino
        self._ids[ino] = self._next
        self._next += 1
        return self._ids[ino]

    def _id(self, st: os.stat_result) -> int:
        if st.st_ino not in self._ids:  # made behind our back (never in a test): known from now on
            self._ids[st.st_ino] = self._next
            self._next += 1
        return self._ids[st.st_ino]

    def _snapshot_backing(self) -> None:
        """At mount, all that is on the backing folder is durable (it is what the last power cut left)."""
        self._ids[os.lstat(self.backing).st_ino] = ROOT_ID
        self._next = ROOT_ID + 1
        self._inodes[ROOT_ID] = {"kind": "dir", "mode": stat.S_IMODE(os.lstat(self.backing).st_mode)}
        for dirpath, dirnames, filenames in os.walk(self.backing):
            entries: dict[str, int] = {}
            for name in [*dirnames, *filenames]:
                full = os.path.join(dirpath, name)
                st = os.lstat(full)
                known = st.st_ino in self._ids
                ident = self._id(st)
                entries[name] = ident
                if not known:
                    self._record(ident, full, st, data=True, times=True)
            self._dirs[self._id(os.lstat(dirpath))] = entries
        self._save()

    def _record(self, ident: int, full: str, st: os.stat_result, *, data: bool, times: bool) -> None:
        """Make an inode durable as it is now (``data``: with its bytes, ``times``: with its mtime)."""
        old = self._inodes.get(ident, {})
        rec: dict[str, Any] = {"kind": _kind(st.st_mode), "mode": stat.S_IMODE(st.st_mode),
                               "data": old.get("data", False), "mtime_ns": old.get("mtime_ns")}
        if rec["kind"] == "symlink":
            rec["target"] = os.readlink(full)
        if data and rec["kind"] == "file":
            tmp = self.state / "data" / f"{ident}.tmp"
            shutil.copyfile(full, tmp)
            os.replace(tmp, self.state / "data" / str(ident))
            rec["data"] = True
        if times:
            rec["mtime_ns"] = st.st_mtime_ns
        self._inodes[ident] = rec

    def _save(self) -> None:
        _write_json(self.state / "durable.json",
                    {"inodes": {str(k): v for k, v in self._inodes.items()},
                     "dirs": {str(k): v for k, v in self._dirs.items()}})

    # -- operations --------------------------------------------------------------------------------

    def init(self, path: str | None) -> None:
        return None

    def destroy(self, path: str | None) -> None:
        _write_json(self.state / "stats.json", {"counted": self._counted, "by_op": self._by_op})

    def getattr(self, path: str | None, fh: int | None = None) -> dict[str, Any]:
        st = os.fstat(fh) if path is None and fh is not None else os.lstat(self._full(path or "/"))
        keys = ("st_mode", "st_ino", "st_nlink", "st_uid", "st_gid", "st_size", "st_blocks", "st_blksize")
        out: dict[str, Any] = {k: getattr(st, k) for k in keys}
        out.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
        return out

    def access(self, path: str, amode: int) -> None:
        if not os.access(self._full(path), amode):
            raise _fail(errno_mod.EACCES)

    def readdir(self, path: str, fh: int) -> Iterator[str]:
        yield from (".", "..")
        yield from os.listdir(self._full(path))

    def readlink(self, path: str) -> str:
        return os.readlink(self._full(path))

    def statfs(self, path: str) -> dict[str, int]:
        sv = os.statvfs(self._full(path))
        keys = ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree")
        return {k: getattr(sv, k) for k in (*keys, "f_favail", "f_flag", "f_namemax")}

    def mknod(self, path: str, mode: int, dev: int) -> None:
        os.mknod(self._full(path), mode, dev)
        self._new_id(path)

    def mkdir(self, path: str, mode: int) -> None:
        os.mkdir(self._full(path), mode)
        self._new_id(path)

    def symlink(self, target: str, source: str) -> None:
        os.symlink(source, self._full(target))
        self._new_id(target)

    def link(self, target: str, source: str) -> None:
        os.link(self._full(source), self._full(target))

    def rename(self, old: str, new: str) -> None:
        os.rename(self._full(old), self._full(new))

    def unlink(self, path: str) -> None:
        os.unlink(self._full(path))

    def rmdir(self, path: str) -> None:
        os.rmdir(self._full(path))

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self._full(path), mode)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.chown(self._full(path), uid, gid, follow_symlinks=False)

    def truncate(self, path: str | None, length: int, fh: int | None = None) -> None:
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._full(path or "/"), length)

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> None:
        full = self._full(path)
        if times is None:
            os.utime(full, follow_symlinks=False)
            return
        st = os.lstat(full)
        now = time.time_ns()

        def pick(value: int, current: int) -> int:
            return {UTIME_NOW: now, UTIME_OMIT: current}.get(value, value)

        os.utime(full, ns=(pick(times[0], st.st_atime_ns), pick(times[1], st.st_mtime_ns)), follow_symlinks=False)

    def open(self, path: str, flags: int) -> int:
        return os.open(self._full(path), flags & ~(os.O_DIRECT | os.O_CREAT | os.O_EXCL))

    def create(self, path: str, mode: int) -> int:
        fh = os.open(self._full(path), os.O_RDWR | os.O_CREAT, mode)
        self._new_id(path)
        return fh

    def read(self, path: str | None, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def write(self, path: str | None, data: bytes, offset: int, fh: int) -> int:
        return os.pwrite(fh, data, offset)

    def flush(self, path: str | None, fh: int) -> None:
        return None

    def release(self, path: str | None, fh: int) -> None:
        os.close(fh)

    def fsync(self, path: str | None, datasync: int, fh: int) -> None:
        """The file's bytes (and, unless datasync, its times and mode) are durable from now on; its name is not."""
        st = os.fstat(fh)
        self._record(self._id(st), f"/proc/self/fd/{fh}", st, data=True, times=not datasync)
        self._save()

    def fsyncdir(self, path: str | None, datasync: int, fh: int) -> None:
        """The folder's entries as they are now are durable: each names its inode as that inode is durable
        (an inode never synced is an empty file, an empty folder, or its link)."""
        full = self._full(path or "/")
        entries: dict[str, int] = {}
        for name in os.listdir(full):
            child = os.path.join(full, name)
            st = os.lstat(child)
            ident = self._id(st)
            entries[name] = ident
            if ident not in self._inodes:
                self._record(ident, child, st, data=False, times=False)
            if stat.S_ISDIR(st.st_mode):
                self._dirs.setdefault(ident, {})
        self._dirs[self._id(os.lstat(full))] = entries
        self._save()


def restore(backing: Path, state: Path) -> dict[str, int]:
    """Replace the backing folder by the durable state a stopped PowerCutFS left in ``state`` (what the drive
    holds when the power comes back). Returns counts: files, with_data (files whose bytes were synced)."""
    durable = json.loads((state / "durable.json").read_text(encoding="utf-8"))
    inodes = {int(k): v for k, v in durable["inodes"].items()}
    dirs = {int(k): v for k, v in durable["dirs"].items()}
    fresh = backing.with_name(backing.name + ".restoring")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    made: dict[int, Path] = {}  # file id -> first path (a second name is a hard link)
    counts = {"files": 0, "with_data": 0}
    pending: list[tuple[int, Path]] = [(ROOT_ID, fresh)]
    seen_dirs = {ROOT_ID}
    times: list[tuple[Path, int]] = []
    while pending:
        folder_id, folder = pending.pop()
        for name, ident in sorted(dirs.get(folder_id, {}).items()):
            rec, path = inodes[ident], folder / name
            if rec["kind"] == "dir":
                if ident in seen_dirs:  # moved between two folder syncs: named twice, kept at the first
                    continue
                seen_dirs.add(ident)
                path.mkdir(mode=rec["mode"])
                pending.append((ident, path))
            elif rec["kind"] == "symlink":
                os.symlink(rec["target"], path)
            elif ident in made:
                os.link(made[ident], path)
            else:
                data = state / "data" / str(ident)
                if rec.get("data"):
                    shutil.copyfile(data, path)
                    counts["with_data"] += 1
                else:
                    path.touch()
                os.chmod(path, rec["mode"])
                made[ident] = path
                counts["files"] += 1
                if rec.get("mtime_ns") is not None:
                    times.append((path, int(rec["mtime_ns"])))
    for path, mtime_ns in times:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    old = backing.with_name(backing.name + ".lost")
    os.replace(backing, old)
    os.replace(fresh, backing)
    shutil.rmtree(old)
    return counts


def serve(backing: str, mountpoint: str, state: str, control: str, options: Mapping[str, Any]) -> None:
    from fuse import FUSE

    FUSE(PowerCutFS(backing, state, control), mountpoint, foreground=True, nothreads=False, **dict(options))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("backing")
    parser.add_argument("mountpoint")
    parser.add_argument("--state", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("-o", dest="options", default="", help="comma-separated libfuse options")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {}
    for item in filter(None, args.options.split(",")):
        key, sep, value = item.partition("=")
        options[key] = value if sep else True
    serve(args.backing, args.mountpoint, args.state, args.control, options)
    return 0


# --------------------------------------------------------------------------------------------------
# test side


class PowerCutMount(_PathLike):
    """A running PowerCutFS mount, driven from the test process; each power cut remounts it at the same place
    with the backing folder reverted to what was durable."""

    def __init__(self, backing: Path, mountpoint: Path, workdir: Path, start_timeout: float = 10.0) -> None:
        self.backing = backing
        self.mountpoint = mountpoint
        self.workdir = workdir
        self.start_timeout = start_timeout
        self.options = {**DEFAULT_OPTIONS, "fsname": "powercutfs", "subtype": "powercutfs"}
        self.cuts: list[dict[str, Any]] = []  # what each cut hit and what it kept
        self._session = 0
        for d in (backing, mountpoint, workdir):
            d.mkdir(parents=True, exist_ok=True)
        self._start()

    def __repr__(self) -> str:
        return f"PowerCutMount({self.mountpoint} -> {self.backing}, session {self._session})"

    @property
    def state(self) -> Path:
        return self.workdir / f"session{self._session}"

    @property
    def control(self) -> Path:
        return self.state / "control.json"

    def _start(self) -> None:
        self._session += 1
        self.state.mkdir(parents=True)
        self._control: dict[str, Any] = {}
        _write_json(self.control, self._control)
        self._stderr = self.state / "stderr"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with open(self._stderr, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.powercutfs", str(self.backing), str(self.mountpoint), "--state",
                 str(self.state), "--control", str(self.control), "-o", ",".join(_format_options(self.options))],
                cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        deadline = time.monotonic() + self.start_timeout
        while not self.is_mounted:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"PowerCutFS did not mount {self.mountpoint}: {self.stderr()}")
            time.sleep(0.02)

    def _set(self, **values: Any) -> None:
        self._control.update(values)
        _write_json(self.control, self._control)

    # -- cuts --------------------------------------------------------------------------------------

    def cut_after(self, n: int, glob: str | None = None, ops: Iterable[str] | None = None) -> None:
        """Cut the power right after the nth changing request from now on (write, fsync, rename, ...: see
        CHANGING_OPS), counting only requests on a path matching ``glob`` (relative to the mount root, fnmatch,
        ``*`` matches ``/`` too; a rename or link matches by either name) and only the operations ``ops``, if
        given. The requests after it block until :meth:`power_cut` (see :meth:`wait_cut`)."""
        self._set(cut_after=n, cut_glob=glob, cut_ops=None if ops is None else sorted(ops))

    def cut_point(self) -> dict[str, Any] | None:
        """The request the power was cut after (op, path, counted), or None while it is still on."""
        try:
            return dict(json.loads((self.state / "cut.json").read_text(encoding="utf-8")))
        except (FileNotFoundError, ValueError):
            return None

    def wait_cut(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while (point := self.cut_point()) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return point

    def fail_requests(self) -> None:
        """After a cut, answer every request (the blocked ones too) with EIO instead of blocking: the drive lost
        power but the computer did not, and the writer goes on to its end. :meth:`power_cut` then brings the
        drive back."""
        self._set(release=True)

    def power_cut(self) -> dict[str, Any]:
        """Cut now (if no armed cut did already), unmount, revert the backing folder to its durable state and
        mount it again. Kill the writer (SIGKILL) first: its requests fail with EIO once the power is off.
        Returns what the cut hit and kept: op, path, counted, files, with_data."""
        if self.cut_point() is None:
            self._set(freeze=True)
        point = self.wait_cut(5.0) or {"op": "freeze", "path": None, "counted": None}
        self.stop()
        point.update(restore(self.backing, self.state))
        self.cuts.append(point)
        self._start()
        return point

    def counted(self, ops: Iterable[str] | None = None) -> int:
        """Changing requests of this session (of the operations ``ops`` only, if given), once it was stopped
        (written as it unmounted)."""
        stats = json.loads((self.state / "stats.json").read_text(encoding="utf-8"))
        if ops is None:
            return int(stats["counted"])
        return sum(int(stats["by_op"].get(op, 0)) for op in ops)

    def stderr(self) -> str:
        try:
            return self._stderr.read_text(errors="replace")
        except OSError:
            return ""

    # -- lifecycle ---------------------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> None:
        """Release blocked requests, unmount, end the filesystem process; never hangs."""
        with contextlib.suppress(OSError):
            self._set(release=True, cut_after=None)
        time.sleep(0.05)  # the watcher reads it within 10 ms; blocked requests then fail and return
        busy = not _umount(self.mountpoint, lazy=False)
        if busy:
            _umount(self.mountpoint, lazy=True)
        try:
            self.process.wait(1.0 if busy else timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _umount(self.mountpoint, lazy=True)


if __name__ == "__main__":
    sys.exit(main())
