"""``workbench dxf FILE``: what each layer of a drawing holds and which pockets it yields."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from .dxf import layer_report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``dxf`` subcommand to the ``workbench`` parser."""
    p = subparsers.add_parser(
        "dxf",
        help="layer report of a DXF drawing (regions, islands, areas, open profiles)",
        description=(
            "Read a DXF drawing and print one row per layer: entity types, closed loops, open "
            "chains, pocket regions, islands, area (mm^2) and the error that keeps a layer from "
            "becoming pockets. Units come from $INSUNITS unless --units overrides them."
        ),
    )
    p.add_argument("file", help="the DXF file")
    p.add_argument("--units", default=None,
                   help="drawing unit override: mm, inch, cm, m, ft, ... (default: $INSUNITS)")
    p.add_argument("--layer", action="append", default=None, metavar="L",
                   help="only this layer (repeatable; case-insensitive)")
    p.add_argument("--chord-tol", type=float, default=0.01,
                   help="chord (sagitta) tolerance for flattening curves, mm (default 0.01)")
    p.add_argument("--join-tol", type=float, default=0.05,
                   help="endpoints closer than this are joined, mm (default 0.05)")
    p.add_argument("--json", action="store_true", help="print the report as JSON records")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = layer_report(args.file, units=args.units, chord_tol=args.chord_tol,
                          join_tol=args.join_tol, layers=args.layer)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"file": str(args.file), "units": df.attrs.get("units"),
                          "layers": df.to_dict(orient="records")}, indent=2))
        return 0
    shown = df.copy()
    shown["area_mm2"] = shown["area_mm2"].map(lambda v: f"{v:.2f}")
    prefix = f"{df.attrs.get('path')}: layer "
    shown["error"] = [e.removeprefix(f"{prefix}{lay!r}: ") for lay, e in zip(shown["layer"], shown["error"])]
    print(f"{args.file}  (coordinates read as {df.attrs.get('units')}; {df['units'].iloc[0] if len(df) else ''})")
    print(shown.drop(columns=["units"]).to_string(index=False))
    return 0

