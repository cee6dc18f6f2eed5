"""Independent raster check of radial engagement (a material-removal simulation).

Used by tests/test_adaptive.py and benchmarks/bench_adaptive_vs_freecad.py as the referee of
every planner (ours and FreeCAD's): it knows nothing of the planners' internals.

Model: the material at one depth level is a numpy boolean grid (cell ``h``, default 0.05 mm)
that is True inside the pocket region. The tool-centre path of every move at that depth (arcs
discretised to 0.002 mm sagitta) is walked segment by segment; along a segment, samples every
``step`` mm measure the engagement of the tool against the material left *before* that segment
(exact for straight motion: a disc centred behind the tool never reaches its front half beyond
the circle), then the segment's capsule of radius ``r`` is removed. Engagement = the arc of the
front half of the tool circle (720 samples, 0.25 deg) whose points fall in a material cell
(the definition of ``workbench.cam.engagement``: radial engagement angle, Sandvik Coromant).
The arc is also split by side: on the left of the motion is conventional (up) milling with an M3
spindle, on the right climb (down) milling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from workbench.cam.checks import tool_centre_paths
from workbench.toolpath import Toolpath


@dataclass
class EngagementResult:
    per_move: np.ndarray      # max engagement per move (NaN for moves not at the level)
    samples: np.ndarray       # engagement at each sample (deg)
    weights: np.ndarray       # path length each sample represents (mm)
    left: np.ndarray          # of it, the arc on the left of the motion (deg; conventional
                              # milling with an M3 spindle), the rest is on the right (climb)

    def conventional_length(self, min_deg: float = 5.0) -> float:
        """Path length (mm) sampled with more of its engagement on the left of the motion than
        on the right (conventional milling with an M3 spindle) and at least ``min_deg``."""
        conv = (self.samples >= min_deg) & (self.left > 0.5 * self.samples)
        return float(self.weights[conv].sum())

    def quantile(self, q: float) -> float:
        """Length-weighted quantile of the sampled engagement, degrees."""
        if not len(self.samples):
            return math.nan
        o = np.argsort(self.samples)
        c = np.cumsum(self.weights[o])
        return float(self.samples[o][min(len(o) - 1, int(np.searchsorted(c, q * c[-1])))])

    def length_over(self, deg: float) -> float:
        """Path length (mm) sampled above ``deg``."""
        return float(self.weights[self.samples > deg].sum())


def raster_engagement(tp: Toolpath, region, tool_d: float, z: float | None = None,
                      h: float = 0.05, step: float = 0.1, bins: int = 720,
                      rows_mask: np.ndarray | None = None) -> EngagementResult:
    """Simulate level ``z`` (default: the lowest z) of ``tp`` and measure engagement."""
    poly = getattr(region, "polygon", region)
    r = tool_d / 2.0
    mv = tp.moves
    if z is None:
        z = float(mv["z"].min())
    starts = tp.starts()
    ends = mv[["x", "y", "z"]].to_numpy(float)
    at = (np.abs(starts[:, 2] - z) < 1e-6) & (np.abs(ends[:, 2] - z) < 1e-6) & (mv["code"] != "G0").to_numpy()
    minx, miny, maxx, maxy = poly.bounds
    x0, y0 = minx - r - 1, miny - r - 1
    nx = int(math.ceil((maxx - minx + 2 * r + 2) / h))
    ny = int(math.ceil((maxy - miny + 2 * r + 2) / h))
    xs = x0 + (np.arange(nx) + 0.5) * h
    ys = y0 + (np.arange(ny) + 0.5) * h
    X, Y = np.meshgrid(xs, ys)
    mat = shapely.contains_xy(poly, X, Y)
    del X, Y
    phi = np.radians(-90.0 + (np.arange(bins) + 0.5) * 180.0 / bins)
    cph, sph = np.cos(phi), np.sin(phi)
    per = np.full(len(mv), np.nan)
    samples, weights, lefts = [], [], []
    on_left = sph > 0
    rows = np.flatnonzero(at)
    paths = tool_centre_paths(tp, rows=list(rows), max_sagitta=0.002)
    # everything cut above z (entries at this level) counts: helix/ramp/plunge down to z remove
    for k, pth in zip(rows, paths):
        xy = pth[:, :2]
        emax = 0.0
        for a, b in zip(xy[:-1], xy[1:]):
            d = b - a
            L = float(math.hypot(*d))
            if L < 1e-9:
                continue
            u = d / L
            n = max(1, int(math.ceil(L / step)))
            t = (np.arange(1, n + 1) / n)[:, None]
            cs = a + t * d
            ox = r * (cph * u[0] - sph * u[1])
            oy = r * (cph * u[1] + sph * u[0])
            px = np.floor((cs[:, :1] + ox - x0) / h).astype(np.int64)
            py = np.floor((cs[:, 1:] + oy - y0) / h).astype(np.int64)
            ok = (px >= 0) & (px < nx) & (py >= 0) & (py < ny)
            m = np.zeros(px.shape, bool)
            m[ok] = mat[py[ok], px[ok]]
            e = m.sum(axis=1) * (180.0 / bins)
            samples.append(e)
            lefts.append(m[:, on_left].sum(axis=1) * (180.0 / bins))
            weights.append(np.full(n, L / n))
            emax = max(emax, float(e.max()))
            i0 = max(0, int((min(a[0], b[0]) - r - x0) / h)); i1 = min(nx, int((max(a[0], b[0]) + r - x0) / h) + 2)
            j0 = max(0, int((min(a[1], b[1]) - r - y0) / h)); j1 = min(ny, int((max(a[1], b[1]) + r - y0) / h) + 2)
            qx = xs[None, i0:i1] - a[0]
            qy = ys[j0:j1, None] - a[1]
            tt = np.clip((qx * d[0] + qy * d[1]) / (L * L), 0, 1)
            mat[j0:j1, i0:i1] &= (qx - tt * d[0]) ** 2 + (qy - tt * d[1]) ** 2 > r * r
        per[k] = emax
        # entry moves (ramps/helix reaching z) also remove material
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0))
    return EngagementResult(per, cat(samples), cat(weights), cat(lefts))
