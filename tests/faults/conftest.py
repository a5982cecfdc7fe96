"""Fixtures for the reliability suite: the CLI run in-process, and the real-mount fixtures of
tests/integration (FaultFS, tmpfs, loop-mounted ext4), which mark their tests root/fuse and skip with a
reason where the machine cannot mount."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from datawrangler.cli import main
from tests.integration.conftest import ext4_loop_mount, faultfs, tmpfs_mount

__all__ = ["Run", "dw", "ext4_loop_mount", "faultfs", "tmpfs_mount"]


@dataclass
class Run:
    code: int
    events: list[dict[str, Any]]
    stderr: str
    raw: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.of("error")

    @property
    def done(self) -> dict[str, Any]:
        found = self.of("done")
        assert found, f"no 'done' event (exit {self.code}): {self.raw[-2000:]} {self.stderr[-2000:]}"
        return found[-1]

    def files(self) -> dict[str, dict[str, Any]]:
        return {e["path"]: e for e in self.of("file")}


RunCli = Callable[..., Run]


@pytest.fixture
def dw(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """dw("offload", SRC, DEST, ...) -> Run: the CLI in this process with --json; a SystemExit (argparse)
    becomes the exit code."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        try:
            code = main([*map(str, args), "--json"])
        except SystemExit as exc:
            code = int(exc.code or 0)
        cap = capsys.readouterr()
        events = []
        for line in cap.out.splitlines():
            if line.strip():
                events.append(json.loads(line))
        return Run(code, events, cap.err, cap.out)

    return run
