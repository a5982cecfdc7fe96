"""Fixtures for the command-line tests: the CLI run in this process with --json (`dw`, as the reliability
suite runs it), and real tmpfs mounts for tests that need distinct drives (marked root, skipped without)."""

from __future__ import annotations

from tests.faults.conftest import Run, RunCli, dw
from tests.integration.conftest import tmpfs_mount

__all__ = ["Run", "RunCli", "dw", "tmpfs_mount"]
