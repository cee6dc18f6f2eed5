"""Write the project's own sample drawing, ``guitar_cavities.dxf`` (run: ``python make_samples.py``).

A solid-body guitar in millimetres ($INSUNITS=4), R2010, one layer per operation, drawn the
ways real drawings are drawn so that the DXF importer's paths all get used:

==============  ==========================================================================
layer           geometry
==============  ==========================================================================
BODY_OUTLINE    one periodic (closed, unclamped) cubic SPLINE, ~340 x 470 mm
NECK_POCKET     56 x 76 mm: three LINEs and a SPLINE heel end bulging 6 mm (a LINE+SPLINE
                chain, pieces drawn in mixed directions)
PICKUP_CAVITY   two humbucker routes 72 x 40 mm, corner radius 5 mm, each drawn as 4 LINE
                + 4 ARC pieces in mixed directions
CONTROL_CAVITY  a 90 x 50 mm rounded rectangle (corner radius 10 mm) as a closed
                LWPOLYLINE with bulges, and a 12 mm diameter round boss (CIRCLE) inside it:
                one region with one island
==============  ==========================================================================

The exact pocket areas are module constants (``*_AREA``) so tests can check the importer
against analytic values: a rounded rectangle W x H with corner radius r has area
``W H - (4 - pi) r^2``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import ezdxf
from ezdxf.math import closed_uniform_bspline

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "guitar_cavities.dxf"

CONTROL_W, CONTROL_H, CONTROL_R = 90.0, 50.0, 10.0
CONTROL_CENTRE = (70.0, 95.0)
BOSS_D = 12.0
BOSS_CENTRE = (100.0, 95.0)
PICKUP_W, PICKUP_H, PICKUP_R = 72.0, 40.0, 5.0
PICKUP_CENTRES = ((0.0, 215.0), (0.0, 305.0))
NECK_W, NECK_L, NECK_HEEL_BULGE = 56.0, 76.0, 6.0
NECK_Y0 = 385.0  # heel end (curved) at the bottom, straight end at NECK_Y0 + NECK_L

#: pocket area of the control cavity (outer minus boss), mm^2
CONTROL_AREA = CONTROL_W * CONTROL_H - (4 - math.pi) * CONTROL_R**2 - math.pi * (BOSS_D / 2) ** 2
#: area of one pickup route, mm^2
PICKUP_AREA = PICKUP_W * PICKUP_H - (4 - math.pi) * PICKUP_R**2

#: control points of the body outline (closed uniform cubic B-spline), mm
BODY_CONTROL_POINTS = [
    (0.0, -8.0), (95.0, -2.0), (165.0, 45.0), (180.0, 150.0), (130.0, 245.0),
    (125.0, 300.0), (150.0, 370.0), (115.0, 450.0), (40.0, 478.0), (-40.0, 478.0),
    (-115.0, 450.0), (-150.0, 370.0), (-125.0, 300.0), (-130.0, 245.0), (-180.0, 150.0),
    (-165.0, 45.0), (-95.0, -2.0),
]


def _rounded_rect_line_arc(msp, cx: float, cy: float, w: float, h: float, r: float, layer: str) -> None:
    """A rounded rectangle as 4 LINEs + 4 ARCs; every other LINE drawn backwards."""
    x0, x1, y0, y1 = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
    a = {"layer": layer}
    msp.add_line((x0 + r, y0), (x1 - r, y0), dxfattribs=a)           # bottom, forwards
    msp.add_arc((x1 - r, y0 + r), r, 270, 0, dxfattribs=a)
    msp.add_line((x1, y1 - r), (x1, y0 + r), dxfattribs=a)           # right, backwards
    msp.add_arc((x1 - r, y1 - r), r, 0, 90, dxfattribs=a)
    msp.add_line((x1 - r, y1), (x0 + r, y1), dxfattribs=a)           # top, forwards (CCW)
    msp.add_arc((x0 + r, y1 - r), r, 90, 180, dxfattribs=a)
    msp.add_line((x0, y0 + r), (x0, y1 - r), dxfattribs=a)           # left, backwards
    msp.add_arc((x0 + r, y0 + r), r, 180, 270, dxfattribs=a)


def _rounded_rect_bulged(msp, cx: float, cy: float, w: float, h: float, r: float, layer: str) -> None:
    """A rounded rectangle as one closed LWPOLYLINE; each 90° corner is a bulge tan(90°/4)."""
    b = math.tan(math.radians(90.0) / 4.0)
    x0, x1, y0, y1 = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
    pts = [
        (x0 + r, y0, 0.0), (x1 - r, y0, b), (x1, y0 + r, 0.0), (x1, y1 - r, b),
        (x1 - r, y1, 0.0), (x0 + r, y1, b), (x0, y1 - r, 0.0), (x0, y0 + r, b),
    ]
    msp.add_lwpolyline(pts, format="xyb", close=True, dxfattribs={"layer": layer})


def build(path: Path = SAMPLE) -> Path:
    """Write the sample drawing to ``path``; returns the path."""
    doc = ezdxf.new("R2010", units=4)
    doc.header["$MEASUREMENT"] = 1
    for name, color in (("BODY_OUTLINE", 7), ("NECK_POCKET", 3), ("PICKUP_CAVITY", 1),
                        ("CONTROL_CAVITY", 5)):
        doc.layers.add(name, color=color)
    msp = doc.modelspace()

    spline = msp.add_spline(dxfattribs={"layer": "BODY_OUTLINE"})
    spline.apply_construction_tool(closed_uniform_bspline(BODY_CONTROL_POINTS, order=4))

    # neck pocket: straight end and sides as LINEs, heel end as a fit-point SPLINE
    x0, x1 = -NECK_W / 2, NECK_W / 2
    y0, y1 = NECK_Y0, NECK_Y0 + NECK_L
    a = {"layer": "NECK_POCKET"}
    msp.add_line((x0, y1), (x1, y1), dxfattribs=a)
    msp.add_line((x1, y0), (x1, y1), dxfattribs=a)  # drawn upwards: reversed in the chain
    msp.add_line((x0, y1), (x0, y0), dxfattribs=a)
    heel = [(x0 + NECK_W * t, y0 - NECK_HEEL_BULGE * math.sin(math.pi * t)) for t in (0, .25, .5, .75, 1)]
    msp.add_spline(fit_points=heel, dxfattribs=a)

    for cx, cy in PICKUP_CENTRES:
        _rounded_rect_line_arc(msp, cx, cy, PICKUP_W, PICKUP_H, PICKUP_R, "PICKUP_CAVITY")

    _rounded_rect_bulged(msp, *CONTROL_CENTRE, CONTROL_W, CONTROL_H, CONTROL_R, "CONTROL_CAVITY")
    msp.add_circle(BOSS_CENTRE, BOSS_D / 2, dxfattribs={"layer": "CONTROL_CAVITY"})

    path = Path(path)
    doc.saveas(path)
    return path


if __name__ == "__main__":
    out = build(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
