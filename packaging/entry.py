"""The bundle's entry point: the command line, exactly as the installed `datawrangler` script runs it
(pyproject: datawrangler = "datawrangler.cli:main"). A bare `datawrangler` is the CLI's default."""

import sys

from datawrangler.cli import main

sys.exit(main())
