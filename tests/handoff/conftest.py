"""Handoff fixtures: the reference implementation (ascmhl 1.2 in its own venv, never in the project's: it
pins Click 8.1.x) with the XSD schemas from its sdist, and real offloads recorded in a real catalog."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from datawrangler.core.cards import fingerprint
from datawrangler.core.events import OffloadResult
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import scan_source
from datawrangler.core.transfer import offload
from datawrangler.handoff.common import CreatorInfo
from datawrangler.store import offloads
from datawrangler.store.db import open_catalog
from datawrangler.store.recorder import Recorder

REPO = Path(__file__).resolve().parents[2]
ORACLE = REPO / ".oracle"
VERSION = "1.2"
NOW = dt.datetime(2023, 10, 14, 22, 41, 5, tzinfo=dt.UTC)
CREATOR = CreatorInfo("cart-01.local", tool_version="0.1.0", author="Kim DIT")


@dataclass(frozen=True)
class Oracle:
    bin: Path
    xsd: Path

    def run(self, tool: str, *args: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / tool), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                              timeout=120, env={**os.environ, "LC_ALL": "C.UTF-8"})

    def verify(self, roll: Path) -> subprocess.CompletedProcess[str]:
        return self.run("ascmhl-debug", "verify", "-v", roll)

    def schema_check(self, manifest: Path) -> subprocess.CompletedProcess[str]:
        return self.run("ascmhl-debug", "xsd-schema-check", "-xsd", self.xsd / "ASCMHL.xsd", manifest)

    def chain_check(self, chain: Path) -> subprocess.CompletedProcess[str]:
        return self.run("ascmhl-debug", "xsd-schema-check", "-df", "-xsd", self.xsd / "ASCMHLDirectory__combined.xsd",
                        chain)


def _build_oracle() -> Oracle:
    venv = ORACLE / "ascmhl-venv"
    xsd = ORACLE / "xsd"
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    if not (bindir / "ascmhl-debug").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q", f"ascmhl=={VERSION}"], check=True,
                       capture_output=True, timeout=600)
    if not (xsd / "ASCMHLDirectory__combined.xsd").exists():
        dl = ORACLE / "sdist"
        dl.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(bindir / "python"), "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        f"ascmhl=={VERSION}", "-d", str(dl)], check=True, capture_output=True, timeout=600)
        tmp = ORACLE / "xsd.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        with tarfile.open(dl / f"ascmhl-{VERSION}.tar.gz") as tar:
            for m in tar.getmembers():
                parts = Path(m.name).parts
                if len(parts) == 3 and parts[1] == "xsd" and parts[2].endswith(".xsd") and m.isfile():
                    src = tar.extractfile(m)
                    assert src is not None
                    (tmp / parts[2]).write_bytes(src.read())
        shutil.rmtree(xsd, ignore_errors=True)
        tmp.rename(xsd)
    return Oracle(bindir, xsd)


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    try:
        return _build_oracle()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, tarfile.TarError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        pytest.skip(f"the ASC MHL reference implementation (ascmhl {VERSION} from PyPI) could not be installed "
                    f"into {ORACLE} (no network?): {str(detail)[-300:]}")


@dataclass(frozen=True)
class Recorded:
    db_path: Path
    offload_id: int
    result: OffloadResult
    plan: OffloadPlan


RunOffload = Callable[..., Recorded]


@pytest.fixture
def recorded_offload(tmp_path: Path) -> RunOffload:
    """recorded_offload(card, [dest roots], algorithms=..., plan=..., on_file=...) -> Recorded: a real offload,
    every result recorded in a real catalog (as the offload command does)."""

    def run(card: Path, roots: Sequence[Path], algorithms: Sequence[str] = ("xxh64",), plan: OffloadPlan | None = None,
            on_file: Callable | None = None, **options: object) -> Recorded:
        plan = plan or OffloadPlan.create(card, [str(r) for r in roots], algorithms=algorithms, **options)
        db_path = tmp_path / "catalog.sqlite"
        db = open_catalog(db_path)
        try:
            scan = scan_source(plan.source, plan.ignore)
            record = offloads.begin_offload(db, plan, scan, fingerprint(scan), offloads.OffloadMeta(operator="kim"))
        finally:
            db.close()
        recorder = Recorder(db_path, record, plan.verify_mode)
        recorder.start()

        def both(f):  # type: ignore[no-untyped-def]
            recorder.on_file(f)
            if on_file is not None:
                on_file(f)

        result = offload(plan, on_file=both, scan=scan)
        recorder.finish(result)
        return Recorded(db_path, record.offload_id, result, plan)

    return run
