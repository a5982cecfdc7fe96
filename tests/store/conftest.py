"""Fixtures for catalog tests: run the CLI in-process, and a folder on a second physical volume."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from datawrangler.cli import main
from datawrangler.platform import physical_volume

RunCli = Callable[..., tuple[int, list[dict[str, Any]]]]


@pytest.fixture
def dw(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """dw("offload", ...) -> (exit code, the JSON events it printed); adds --json."""

    def run(*args: str) -> tuple[int, list[dict[str, Any]]]:
        capsys.readouterr()
        code = main([*args, "--json"])
        out = capsys.readouterr().out
        return code, [json.loads(line) for line in out.splitlines() if line.strip()]

    return run


@pytest.fixture
def other_volume(tmp_path: Path) -> Iterator[Path]:
    """A folder on another physical volume than tmp_path (tmpfs /dev/shm), or skip."""
    if not os.path.isdir("/dev/shm") or not os.access("/dev/shm", os.W_OK):
        pytest.skip("needs a second volume: /dev/shm is not available")
    if physical_volume("/dev/shm") == physical_volume(str(tmp_path)):
        pytest.skip("needs a second volume: /dev/shm is on the same device as the test folder")
    folder = Path(tempfile.mkdtemp(prefix="dwtest-", dir="/dev/shm"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
