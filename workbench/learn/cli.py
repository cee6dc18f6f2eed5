"""``workbench learn``: train and show learned feed overrides.

    workbench learn train MACHINE [--r-min 5.0] [--db URL] [--models DIR]
    workbench learn show MACHINE [--models DIR]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .model import load_model, model_path
from .train import train_overrides


def _train(args: argparse.Namespace) -> int:
    model = train_overrides(args.machine, args.r_min, url=args.db, models_dir=args.models)
    print(json.dumps(model, indent=2, sort_keys=True))
    return 0


def _show(args: argparse.Namespace) -> int:
    model = load_model(args.machine, args.models)
    if model is None:
        print(f"no model for {args.machine} at {model_path(args.machine, args.models)}; "
              f"run 'workbench learn train {args.machine}'")
        return 1
    print(json.dumps(model, indent=2, sort_keys=True))
    return 0


def register(subparsers: Any) -> None:
    """Add ``workbench learn`` (train, show) to the CLI."""
    p = subparsers.add_parser("learn", help="learned feed overrides: train, show",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="learn_command", metavar="ACTION", required=True)
    t = sub.add_parser("train", help="train a machine's overrides from the run log")
    t.add_argument("machine")
    t.add_argument("--r-min", type=float, default=5.0, help="tight-arc radius threshold, mm (default 5)")
    t.add_argument("--db", default=None, help="run log URL or SQLite file")
    t.add_argument("--models", default=None, help="models folder (default $WORKBENCH_HOME/models)")
    t.set_defaults(func=_train)
    s = sub.add_parser("show", help="print a machine's saved model")
    s.add_argument("machine")
    s.add_argument("--models", default=None, help="models folder (default $WORKBENCH_HOME/models)")
    s.set_defaults(func=_show)
