"""The bundle's entry point: the command line, exactly as the installed `datawrangler` script runs it
(pyproject: datawrangler = "datawrangler.cli:main"). A bare `datawrangler` is the CLI's default."""

import multiprocessing
import sys

# The window runs each offload in a worker process (spawn): in a frozen bundle that worker is this same
# executable, started with multiprocessing's arguments; freeze_support() runs it and exits.
multiprocessing.freeze_support()

from datawrangler.cli import main  # noqa: E402

sys.exit(main())
