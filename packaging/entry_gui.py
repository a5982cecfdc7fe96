"""The Windows windowed executable (DataWrangler.exe, no console): always the window. Top-level options
(--catalog PATH, -v) come before the command, so any given are passed on ahead of `gui`. The console
executable for scripts is datawrangler-cli.exe (entry.py)."""

import multiprocessing
import sys

# The window runs each offload in a worker process (spawn): in a frozen bundle that worker is this same
# executable, started with multiprocessing's arguments; freeze_support() runs it and exits.
multiprocessing.freeze_support()

from datawrangler.cli import main  # noqa: E402

sys.exit(main([*sys.argv[1:], "gui"]))
