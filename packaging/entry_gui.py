"""The Windows windowed executable (DataWrangler.exe, no console): always the window. Top-level options
(--catalog PATH, -v) come before the command, so any given are passed on ahead of `gui`. The console
executable for scripts is datawrangler-cli.exe (entry.py)."""

import sys

from datawrangler.cli import main

sys.exit(main([*sys.argv[1:], "gui"]))
