"""The ``workbench`` command.

Each area of the package contributes its own subcommands: a module listed in
:data:`COMMANDS` defines ``register(subparsers)``, which adds its parser(s) and sets
``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
Errors a user can cause (:class:`workbench.errors.WorkbenchError`) are printed as one line
on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from . import __version__
from .errors import WorkbenchError

#: Modules that contribute subcommands, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "workbench.lab",             # lab, pocket
    "workbench.geometry.cli",    # dxf
    "workbench.gcode.cli",       # gcode
    "workbench.machine.cli",     # machine
    "workbench.sim.cli",         # sim
    "workbench.runlog.cli",      # logs
    "workbench.learn.cli",       # learn
    "workbench.telemetry.cli",   # telemetry
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="workbench",
        description=(
            "Analytics workbench for fabrication shops: DXF pockets to toolpaths, "
            "controller-accurate cycle time, G-code for GRBL, Mach4, LinuxCNC, PathPilot and MASSO. "
            "Start with 'workbench lab' (the pocket lab notebook on the sample drawing) or "
            "'workbench pocket FILE.dxf --layer NAME' (the same job without a notebook)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``workbench`` console script. Returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        print(f"workbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"workbench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
