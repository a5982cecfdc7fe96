"""`datawrangler gui` and `datawrangler demo`, and the window for a bare `datawrangler`.

Qt is imported only when a window is asked for: the other commands start without it.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("gui", help="open the window (the default without a command)",
                       description="Open the DataWrangler window: cards, destinations, queue, history, reports.")
    g.set_defaults(func=cmd_gui)
    d = sub.add_parser("demo", help="open the window with a synthetic camera card and two destination folders",
                       description="Build a synthetic ARRI-like card (a few hundred MB) and two destination "
                       "folders in a temporary folder, with their own catalog, and open the window with them "
                       "ready to offload.")
    d.add_argument("--size", type=int, default=300, metavar="MB", help="the card's size (default 300 MB)")
    d.add_argument("--start", action="store_true", help="start the offload at once")
    d.add_argument("--quit-when-done", action="store_true",
                   help="close the window once every offload has ended; exit 0 if all verified, else 1 (a "
                   "self-test of the window's offload path, e.g. of an installed bundle)")
    d.set_defaults(func=cmd_demo)


def _argv(args: argparse.Namespace) -> list[str]:
    argv = ["datawrangler"]
    if getattr(args, "catalog", None):
        argv += ["--catalog", str(args.catalog)]
    return argv


def cmd_gui(args: argparse.Namespace) -> int:
    from datawrangler.gui.app import main

    return main(_argv(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from datawrangler.gui.app import main

    return main(_argv(args), demo=True, demo_size=args.size, start=args.start, quit_when_done=args.quit_when_done)


def run_default(args: argparse.Namespace) -> int:
    """`datawrangler` with no command: the window."""
    return cmd_gui(args)
