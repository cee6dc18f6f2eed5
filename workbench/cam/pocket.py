"""Offset (contour-parallel) pocket clearing, v1: correct before clever.

:func:`plan_pocket` turns a pocket region (shapely Polygon with islands, mm) into a
:class:`~workbench.toolpath.Toolpath`. The method, at every depth level:

1. **Offsets.** The tool-centre area is the region eroded by the tool radius
   (``region.buffer(-d, join_style="round")``: the exterior shrinks, islands grow). Rings are
   taken at offsets ``d_0 = r + m`` (finish ring, when a finish allowance is asked for),
   ``r + m + finish_allowance`` (first roughing ring) and then every ``s`` further in, until
   the area is empty. ``m`` is the wall margin, equal to ``tolerance``: it absorbs the chord
   error of shapely's round joins (kept under ``tolerance/2`` by choosing ``quad_segs``) and the
   Douglas-Peucker simplification of each offset (``simplify(tolerance/2)``, which moves the
   outline by at most ``tolerance/2`` either way). So every ring stays at least ``r`` from the
   walls and islands, and at most ``tolerance`` of stock is left on the walls. On a staircase
   outline (2.54 mm grid traces) this removes most of the tiny arcs without ever moving the path
   toward the wall.
2. **Spacing.** ``s = min(stepover * D, D - 4 * tolerance)``: two rings further apart than
   ``D`` leave a rib between them; the margin covers chord and simplification errors.
3. **Tree.** An offset can split into several pieces; each piece of offset ``k+1`` is a child
   of the piece of offset ``k`` that contains it. Cutting is inside-out, post-order: the
   children of a piece (nearest first, to keep links short), then the piece's own rings. The
   outermost ring, against the wall, is cut last at each level.
4. **Coverage.** A leaf piece wider than the tool (largest inscribed circle radius ``> r``)
   gets one more ring at ``rho - r/2`` inside it, so its middle is cut. Then the area the
   tool can reach (outermost offset dilated by ``r``) minus the area swept by all rings is
   computed with shapely; every remaining component wider than ``2 * tolerance`` (typically a
   cusp at a sharp corner between rings when ``stepover`` approaches 1) gets a *cleanup spur*:
   the nearest ring vertex goes straight to the centre of the component's largest inscribed
   circle and back. Repeated until nothing significant is left (at most 8 rounds).
5. **Direction.** With a clockwise (M3) spindle the tooth moves, at the contact point, from
   the front of the tool (thickest chip, ``h = fz`` where the radius is parallel to the feed)
   toward its side (``h = 0``) when the material is on the *right* of the motion: that is climb
   (down) milling, thick-to-thin chips — the same reason G41 (cutter left of the contour) is the
   climb-milling compensation. In a pocket the wall is outside the outer ring, so the outer
   ring (and every exterior ring) is cut **counter-clockwise** seen from above, and rings
   around islands **clockwise** (shapely ``orient(sign=1.0)``). ``climb=False`` reverses both.
6. **Entries.** The first ring of a piece that has nothing cut under it needs an entry: a
   helix (G2/G3 with Z, plane 17, descending at ``ramp_angle_deg``, then one flat turn) of
   centre-path diameter ``helix_d`` (default ``D/2``: no core is left standing in the middle)
   centred on the largest inscribed circle of the piece, if the helix circle lies at least
   ``r`` from every wall (inside the roughing offset); else a zig-zag ramp along the ring (at
   least ``D/2`` long); else a straight plunge (with a warning in meta). Every entry move (helix,
   ramp, plunge) runs at ``plunge_feed``.
   ``entry="ramp"`` skips the helix, ``entry="plunge"`` always plunges.
7. **Links.** Consecutive rings of one chain are joined by the shortest segment (about one
   stepover long, at most ``D``, inside the tool-centre area: a stepover cut, kind ``cut``). Other moves at depth go straight (kind
   ``link``) only if the segment lies inside the tool-centre area and its every point lies in
   material already cleared at that depth; otherwise the planner first tries to run along the
   ring just cut to the point nearest the next ring; failing that it retracts to ``safe_z``,
   rapids over and re-enters (a plunge into cleared material, or a new entry).
8. **Depths.** Levels ``stock_top - stepdown, stock_top - 2 stepdown, ...`` down to exactly
   ``stock_top - depth`` (the last pass may be shallower). Between levels the tool rapids up to
   ``safe_z``, over, and down to 1 mm (at most ``safe_z - stock_top``) above the floor of the
   previous level, then enters again.
9. **Engagement.** A :class:`~workbench.cam.engagement.MaterialGrid` (cell ``D/120``, coarser
   only for pockets so large that the raster would pass 2e7 cells)
   replays the cut moves of a level in order; every horizontal G1 at depth (``cut`` and
   ``link``) gets ``engagement_deg`` = the largest engagement over samples every ``D/8``
   along it, measured against the material actually left at that moment. A cut is split
   where its samples cross the overload threshold (target + 5 degrees), so a corner spike at
   the end of a long straight is its own short move with its own slowdown. ``slowdown`` is
   :func:`~workbench.cam.engagement.slowdown_for_engagement` against the straight-cut
   engagement of the requested stepover; ``feed`` stays the requested feed. Entry moves
   (helix, ramp, plunge) have NaN engagement.

Arcs of the offsets are emitted as G1 chords (``tolerance``); only the helical entries are G2/G3.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.ops import nearest_points
from shapely.validation import explain_validity

from ..errors import InputError, PlanningError
from ..toolpath import Toolpath, moves_frame
from .engagement import MaterialGrid, slowdown_for_engagement, straight_cut_engagement_deg
from .params import ENTRIES, check_cutting_params, finite

__all__ = ["PocketParams", "plan_pocket", "depth_levels", "region_polygon", "ENTRIES"]



@dataclass(frozen=True)
class PocketParams:
    """Every parameter of an offset pocket, as stored in ``Toolpath.meta["params"]``.

    Units: mm and mm/min; ``stepover`` is a fraction of the tool diameter; angles in degrees.
    """

    tool_d: float
    stepover: float
    stepdown: float
    depth: float
    stock_top: float = 0.0
    safe_z: float = 5.0
    feed: float = 1200.0
    plunge_feed: float = 300.0
    climb: bool = True
    entry: str = "helix"
    helix_d: float | None = None
    ramp_angle_deg: float = 3.0
    finish_allowance: float = 0.0
    finish_pass: bool = True
    tolerance: float = 0.01
    name: str = "pocket"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict of the parameters."""
        return asdict(self)

    def validate(self) -> None:
        """Check every parameter.

        Raises:
            InputError: naming the parameter and the accepted range.
        """
        label = f"pocket {self.name!r}"
        check_cutting_params(self, label)
        if self.helix_d is not None and finite(label, "helix_d", self.helix_d) <= 0:
            raise InputError(f"{label}: helix_d must be > 0 mm, got {self.helix_d!r}")


def depth_levels(stock_top: float, stepdown: float, depth: float) -> list[float]:
    """Z of each depth pass: ``stock_top - stepdown``, ``- 2 stepdown``, ... down to exactly
    ``stock_top - depth`` (the last pass may be shallower). E.g. depth 7, stepdown 3 ->
    [-3, -6, -7] for a stock top at 0.

    Raises:
        InputError: non-positive stepdown or depth.
    """
    if not (stepdown > 0 and depth > 0):
        raise InputError(f"stepdown and depth must be > 0 mm, got {stepdown!r} and {depth!r}")
    n = max(1, int(math.ceil(depth / stepdown - 1e-9)))
    return [stock_top - stepdown * k for k in range(1, n)] + [stock_top - depth]


def region_polygon(region: Any) -> tuple[Polygon, str]:
    """The pocket polygon (oriented: exterior CCW, islands CW) and a label for messages.

    Accepts a shapely Polygon, a single-part MultiPolygon, or any object with a ``.polygon``
    attribute (``workbench.geometry.Region``; its ``.name`` — ``LAYER#i`` — becomes the label).

    Raises:
        InputError: not a polygon, empty, invalid or zero area.
    """
    label = str(getattr(region, "name", "") or "(unnamed)")
    poly = getattr(region, "polygon", region)
    if isinstance(poly, MultiPolygon) and len(poly.geoms) == 1:
        poly = poly.geoms[0]
    if not isinstance(poly, Polygon):
        raise InputError(f"region {label}: expected a shapely Polygon (or an object with a "
                         f".polygon), got {type(poly).__name__}")
    if poly.is_empty:
        raise InputError(f"region {label}: the polygon is empty")
    if not poly.is_valid:
        # before the area test: a ring that crosses itself (a bow-tie) can have zero signed
        # area, and "zero area" would hide where it crosses
        raise InputError(f"region {label}: invalid polygon: {explain_validity(poly)}")
    if poly.area <= 0:
        raise InputError(f"region {label}: the polygon has zero area")
    return orient(poly, sign=1.0), label


# --------------------------------------------------------------------------- offsets / tree

def _quad_segs(d: float, tol: float) -> int:
    """quad_segs so that the chord sagitta of a round join of radius d (shapely/GEOS
    ``buffer``) is <= tol.

    GEOS splits a fillet of angle ``A`` into ``int(A / q + 0.5)`` equal chords, ``q`` the
    quantum ``pi / 2 / quad_segs`` (``OffsetSegmentGenerator::addDirectedFillet``): a fillet
    just under ``1.5 q`` is one chord of ``1.5 q``. So ``q`` is taken as 1 / 1.5 of the angle
    of a chord of sagitta ``tol``. (With ``q`` equal to that angle, a 1/8" tool's offset of a
    smart-guitar void chamber came 0.8 um inside the tool radius, for a 0.01 mm margin.)"""
    if d <= tol:
        return 4
    step = math.acos(1.0 - tol / d)  # half-angle of a chord with sagitta tol -> 2*step
    return int(min(256, max(4, math.ceil((math.pi / 2) / (2 * step / 1.5)))))


def _pieces(g: BaseGeometry) -> list[Polygon]:
    if g.is_empty:
        return []
    if isinstance(g, Polygon):
        return [g]
    return [p for p in getattr(g, "geoms", []) if isinstance(p, Polygon) and not p.is_empty]


def _offset(poly: Polygon, d: float, tol: float) -> list[Polygon]:
    """Inward offset by ``d`` (exact erosion up to tol/2 chords), simplified by tol/2."""
    g = poly.buffer(-d, quad_segs=_quad_segs(d, tol / 2), join_style="round")
    if g.is_empty:
        return []
    g = g.simplify(tol / 2, preserve_topology=True)
    out = []
    for p in _pieces(g):
        if p.area > tol * tol:
            out.append(orient(p, sign=1.0))
    return out


@dataclass
class _Node:
    poly: Polygon
    level: int
    children: list["_Node"] = field(default_factory=list)
    rings: list[np.ndarray] = field(default_factory=list)

    def walk(self) -> Iterable["_Node"]:
        yield self
        for c in self.children:
            yield from c.walk()


def _ring_coords(ring: Any, climb: bool) -> np.ndarray:
    xy = np.asarray(ring.coords, dtype=float)[:, :2]
    if not climb:
        xy = xy[::-1]
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.hypot(*(np.diff(xy, axis=0).T)) > 1e-9
    xy = xy[keep]
    if np.hypot(*(xy[0] - xy[-1])) > 1e-9:
        xy = np.vstack([xy, xy[:1]])
    return xy


def rotate_ring(ring: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The closed ring ``(n, 2)`` (first point = last) re-started at its point nearest ``q``
    (inserted as a vertex; consecutive duplicates dropped)."""
    a = ring[:-1]
    b = ring[1:]
    ab = b - a
    L2 = np.einsum("ij,ij->i", ab, ab)
    t = np.clip(np.einsum("ij,ij->i", q[None, :] - a, ab) / np.where(L2 > 0, L2, 1.0), 0, 1)
    proj = a + t[:, None] * ab
    d = np.hypot(*(proj - q[None, :]).T)
    k = int(np.argmin(d))
    pt = proj[k]
    body = np.vstack([[pt], ring[k + 1:-1], ring[: k + 1], [pt]])
    keep = np.ones(len(body), dtype=bool)
    keep[1:] = np.hypot(*np.diff(body, axis=0).T) > 1e-9
    body = body[keep]
    if np.hypot(*(body[-1] - pt)) > 1e-9:
        body = np.vstack([body, pt])
    return body


def _mic(poly: BaseGeometry, tol: float) -> tuple[np.ndarray, float]:
    """Centre and radius of the largest inscribed circle of a polygon."""
    ls = shapely.maximum_inscribed_circle(poly, tolerance=max(tol / 4, 1e-4))
    c = np.asarray(ls.coords[0], dtype=float)
    return c, float(ls.length)


# --------------------------------------------------------------------------- 2-D plan

@dataclass
class _Line:
    kind: str
    x: float
    y: float
    eng: float = math.nan


@dataclass
class _Entry:
    """An entry at a point: helix at ``center`` (radius ``rh``), ramp along ``path`` or plunge.
    ``approach`` is where the tool goes down; ``end`` where it is at depth afterwards."""

    method: str  # helix | ramp | plunge | drop (plunge into cleared material)
    approach: np.ndarray
    end: np.ndarray
    center: np.ndarray | None = None
    rh: float = 0.0
    path: np.ndarray | None = None


#: A keep-down link must run through removed material; one whose tool circle meets more than
#: this much engagement (raster noise allowance) is labelled a cut instead.
LINK_MAX_ENGAGEMENT_DEG: float = 2.0


class _Planner2D:
    def __init__(self, p: PocketParams, poly: Polygon, label: str) -> None:
        self.p = p
        self.poly = poly
        self.label = label
        self.D = float(p.tool_d)
        self.r = self.D / 2.0
        self.tol = float(p.tolerance)
        self.margin = self.tol
        self.s = min(p.stepover * self.D, self.D - 4.0 * self.tol)
        self.rh = 0.5 * float(p.helix_d if p.helix_d is not None else 0.5 * self.D)
        #: engagement above which a cut is split off as its own move (target + 5 degrees)
        self.split_deg = straight_cut_engagement_deg(p.stepover * self.D, self.D) + 5.0
        self.warnings: list[str] = []
        self.ops: list[_Line | _Entry] = []
        self.pos: np.ndarray | None = None
        self.prev_ring: np.ndarray | None = None
        self.counts = {"helix": 0, "ramp": 0, "plunge": 0, "drop": 0, "spurs": 0, "retracts": 0}

    # ---------------------------------------------------------------- offsets
    def build_tree(self) -> list[_Node]:
        p, r, m, s = self.p, self.r, self.margin, self.s
        fa = float(p.finish_allowance)
        offs: list[float] = []
        d_rough = r + m + fa
        if fa > 0 and p.finish_pass:
            nf = int(math.ceil(fa / s - 1e-9))
            offs += [r + m + fa * k / nf for k in range(nf)]
        levels: list[list[Polygon]] = []
        for d in offs:
            pcs = _offset(self.poly, d, self.tol)
            if pcs:
                levels.append(pcs)
        n_finish = len(levels)
        k = 0
        while True:
            d = d_rough + k * s
            pcs = _offset(self.poly, d, self.tol)
            if not pcs:
                break
            levels.append(pcs)
            offs.append(d)
            k += 1
        if not levels:
            c, rho = _mic(self.poly, self.tol)
            extra = f" with a finish allowance of {fa:g} mm" if fa > 0 else ""
            raise PlanningError(
                f"tool D={self.D:g} mm does not fit in region {self.label}{extra}: the largest "
                f"inscribed circle is {2 * rho:.3f} mm in diameter")
        rough0 = levels[n_finish] if len(levels) > n_finish else levels[0]
        self.allowed = shapely.union_all(levels[0]) if len(levels[0]) > 1 else levels[0][0]
        shapely.prepare(self.allowed)
        self.helix_area = shapely.union_all(rough0)
        shapely.prepare(self.helix_area)
        self.helix_boundary = self.helix_area.boundary
        # tree
        roots = [_Node(pc, 0) for pc in levels[0]]
        prev = roots
        for li in range(1, len(levels)):
            cur = []
            for pc in levels[li]:
                rp = pc.representative_point()
                par = next((n for n in prev if n.poly.contains(rp)), None)
                if par is None:
                    par = min(prev, key=lambda n: n.poly.distance(rp))
                node = _Node(pc, li)
                par.children.append(node)
                cur.append(node)
            prev = cur
        # leaves wider than the tool get one more ring
        for root in roots:
            for node in list(root.walk()):
                if node.children:
                    continue
                c, rho = _mic(node.poly, self.tol)
                if rho > r:
                    for pc in _offset(node.poly, rho - 0.5 * r, self.tol):
                        node.children.append(_Node(pc, node.level + 1))
        for root in roots:
            for node in root.walk():
                node.rings = [_ring_coords(node.poly.exterior, p.climb)] + \
                             [_ring_coords(h, p.climb) for h in node.poly.interiors]
        self.roots = roots
        self.offsets = offs
        return roots

    # ---------------------------------------------------------------- coverage
    def cleanup(self) -> float:
        """Add spurs until the reachable area is swept. Returns the residual area left."""
        r, tol = self.r, self.tol
        qs = max(4, _quad_segs(r, tol / 4))
        target = self.allowed.buffer(r, quad_segs=qs)
        rings = [(node, i) for root in self.roots for node in root.walk() for i in range(len(node.rings))]
        swept = shapely.buffer(MultiLineString([n.rings[i] for n, i in rings]), r, quad_segs=qs)
        residual = target.difference(swept)
        for _ in range(8):
            comps = [c for c in _pieces(residual) if not c.buffer(-tol).is_empty]
            if not comps:
                break
            verts = np.vstack([n.rings[i][:-1] for n, i in rings])
            owner = np.concatenate([np.full(len(n.rings[i]) - 1, k) for k, (n, i) in enumerate(rings)])
            index = np.concatenate([np.arange(len(n.rings[i]) - 1) for n, i in rings])
            tree = cKDTree(verts)
            inserts: dict[int, list[tuple[int, np.ndarray]]] = {}
            capsules = []
            for comp in comps:
                t, _rho = _mic(comp, tol)
                tp = Point(t)
                if not self.allowed.covers(tp):
                    t = np.asarray(nearest_points(self.allowed.buffer(-tol), tp)[0].coords[0])
                kq = min(16, len(verts))
                _, cand = tree.query(t, k=kq)
                for ci in np.atleast_1d(cand):
                    v = verts[ci]
                    seg = LineString([v, t]) if np.hypot(*(v - t)) > 1e-9 else Point(v)
                    if self.allowed.covers(seg):
                        inserts.setdefault(int(owner[ci]), []).append((int(index[ci]), t))
                        capsules.append(seg.buffer(r, quad_segs=qs))
                        self.counts["spurs"] += 1
                        break
            if not capsules:
                break
            for k, lst in inserts.items():
                n, i = rings[k]
                ring = n.rings[i]
                for idx, t in sorted(lst, key=lambda e: -e[0]):
                    v = ring[idx]
                    ring = np.vstack([ring[: idx + 1], [t, v], ring[idx + 1:]])
                n.rings[i] = ring
            residual = residual.difference(shapely.union_all(capsules))
        return float(residual.area)

    # ---------------------------------------------------------------- grid
    def make_grid(self) -> MaterialGrid:
        minx, miny, maxx, maxy = self.poly.bounds
        pad = self.D + 1.0
        h = self.D / 120.0
        area = (maxx - minx + 2 * pad) * (maxy - miny + 2 * pad)
        h = max(h, math.sqrt(area / 2.0e7))
        self.grid = MaterialGrid((minx - pad, miny - pad, maxx + pad, maxy + pad), h)
        self.sample_ds = self.D / 8.0
        return self.grid

    # ---------------------------------------------------------------- emitting
    def _line(self, kind: str, q: np.ndarray) -> None:
        a = self.pos
        assert a is not None
        L = float(np.hypot(*(q - a)))
        if L < 1e-9:
            return
        d = (q - a) / L
        n = max(1, int(math.ceil(L / self.sample_ds)))
        t = np.arange(1, n + 1) / n
        cs = a[None, :] + t[:, None] * (q - a)[None, :]
        eng = np.asarray(self.grid.engagement(cs, d, self.r), dtype=float)
        self.grid.remove_segment(a, q, self.r)
        # Split a cut where its engagement crosses the overload threshold, so that a corner spike
        # at the end of a long straight gets its own move (and slowdown) instead of the whole
        # straight. Exact: earlier positions of a straight move never reach the forward half of
        # the tool circle at a later position, so every sample sees the material left before
        # this move, split or not.
        if kind == "link" and eng.max() > LINK_MAX_ENGAGEMENT_DEG:
            kind = "cut"  # it touches material: a cut (with its engagement), never a "link"
        over = eng > self.split_deg if kind == "cut" else np.zeros(n, dtype=bool)
        ends = list(np.flatnonzero(over[1:] != over[:-1])) + [n - 1]
        first = 0
        for k in ends:
            e = cs[k] if k < n - 1 else q
            self.ops.append(_Line(kind, float(e[0]), float(e[1]), float(eng[first:k + 1].max())))
            first = k + 1
        self.pos = np.asarray(q, dtype=float)

    def _straight_ok(self, a: np.ndarray, b: np.ndarray, step: bool) -> str | None:
        """'link' if a-b runs in cleared material, 'cut' for a stepover (<= D) cut, else None."""
        L = float(np.hypot(*(b - a)))
        if L < 1e-9:
            return "link"
        if not self.allowed.covers(LineString([a, b])):
            return None
        if self.grid.segment_cleared(a, b):
            return "link"
        if step and L <= self.D + 1e-9:
            return "cut"
        return None

    def _entry(self, q: np.ndarray, ring: np.ndarray, node: _Node | None, leaf: bool) -> None:
        """Go down at (or near) q, uncleared material; end at q at depth."""
        p = self.p
        method = p.entry
        if method == "helix":
            cands = []
            if leaf and node is not None:
                c, rho = _mic(node.poly, self.tol)
                cands.append(c)
            cands.append(q)
            for c in cands:
                cp = Point(c)
                if self.helix_area.contains(cp) and \
                        self.helix_boundary.distance(cp) >= self.rh + 1e-6:
                    self._do_helix(c, q)
                    return
            method = "ramp"
        if method == "ramp":
            path = self._ramp_path(ring)
            if path is not None:
                e = _Entry("ramp", approach=path[0].copy(), end=path[0].copy(), path=path)
                self.ops.append(e)
                self.grid.remove_path(path, self.r)
                self.pos = path[0].copy()
                self.counts["ramp"] += 1
                return
            method = "plunge"
        self.ops.append(_Entry("plunge", approach=q.copy(), end=q.copy()))
        self.grid.remove_segment(q, q, self.r)
        self.pos = q.copy()
        self.counts["plunge"] += 1
        self.warnings.append(f"plunge entry at ({q[0]:.3f}, {q[1]:.3f}): no helix "
                             f"(d={2 * self.rh:g} mm) or ramp fits there" if p.entry != "plunge"
                             else f"plunge entry at ({q[0]:.3f}, {q[1]:.3f}) (entry='plunge')")

    def _do_helix(self, c: np.ndarray, q: np.ndarray) -> None:
        start = c + np.array([self.rh, 0.0])
        self.ops.append(_Entry("helix", approach=start, end=start.copy(), center=c.copy(), rh=self.rh))
        self.grid.remove_segment(c, c, self.rh + self.r)
        self.counts["helix"] += 1
        self.pos = start.copy()
        if np.hypot(*(q - start)) > 1e-9:
            kind = self._straight_ok(start, q, step=True)
            if kind is not None:
                self._line(kind, q)
            else:
                self._line("link", c)
                self._line("cut", q)

    def _ramp_path(self, ring: np.ndarray) -> np.ndarray | None:
        """Sub-path of the ring from its start, up to 5 D long; None if shorter than D/2."""
        seg = np.hypot(*np.diff(ring, axis=0).T)
        total = float(seg.sum())
        if total < 0.5 * self.D:
            return None
        want = min(total, 5.0 * self.D)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        k = int(np.searchsorted(cum, want, side="left"))
        if k >= len(ring):
            return ring.copy()
        t = (want - cum[k - 1]) / max(seg[k - 1], 1e-12)
        end = ring[k - 1] + t * (ring[k] - ring[k - 1])
        return np.vstack([ring[:k], end])

    def _reposition(self, q: np.ndarray, ring: np.ndarray, node: _Node) -> None:
        self.counts["retracts"] += 1
        if self.grid.is_removed(np.array([q[0]]), np.array([q[1]]))[0]:
            self.ops.append(_Entry("drop", approach=q.copy(), end=q.copy()))
            self.counts["drop"] += 1
            self.pos = q.copy()
        else:
            self._entry(q, ring, node, leaf=False)

    def _cut_ring(self, node: _Node, ring: np.ndarray, entry: bool) -> None:
        if entry or self.pos is None:
            c, _ = _mic(node.poly, self.tol)
            rr = rotate_ring(ring, c)
            self._entry(rr[0], rr, node, leaf=True)
        else:
            rr = rotate_ring(ring, self.pos)
            kind = self._straight_ok(self.pos, rr[0], step=True)
            if kind is not None:
                self._line(kind, rr[0])
            else:
                moved = self.prev_ring is not None and self._via_prev_ring(ring)
                kind = None
                if moved:
                    rr = rotate_ring(ring, self.pos)
                    kind = self._straight_ok(self.pos, rr[0], step=True)
                if kind is not None:
                    self._line(kind, rr[0])
                else:
                    self._reposition(rr[0], rr, node)
        for pt in rr[1:]:
            self._line("cut", pt)
        self.prev_ring = rr

    def _via_prev_ring(self, ring: np.ndarray) -> bool:
        """Run along the ring just cut (cleared) to its point nearest ``ring``."""
        pr = self.prev_ring
        pa, _pb = nearest_points(LineString(pr), LineString(ring))
        tgt = np.asarray(pa.coords[0])
        q = rotate_ring(ring, tgt)[0]
        if self._straight_ok(tgt, q, step=True) is None:
            return False
        # forward route from pos: pr[0] -> ... -> tgt
        seg = np.hypot(*np.diff(pr, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        a = pr[:-1]
        ab = pr[1:] - a
        L2 = np.einsum("ij,ij->i", ab, ab)
        t = np.clip(np.einsum("ij,ij->i", tgt[None, :] - a, ab) / np.where(L2 > 0, L2, 1.0), 0, 1)
        k = int(np.argmin(np.hypot(*(a + t[:, None] * ab - tgt[None, :]).T)))
        along = cum[k] + t[k] * seg[k]
        total = cum[-1]
        if along <= total - along:
            route = np.vstack([pr[1: k + 1], tgt])
        else:
            route = np.vstack([pr[::-1][1: len(pr) - k - 1], tgt])
        for pt in route:
            if np.hypot(*(pt - self.pos)) > 1e-9:
                self._line("link", pt)
        return True

    def _subtree(self, node: _Node) -> None:
        kids = list(node.children)
        while kids:
            if self.pos is None:
                nxt = kids[0]
            else:
                pp = Point(self.pos)
                nxt = min(kids, key=lambda n: n.poly.exterior.distance(pp))
            kids.remove(nxt)
            self._subtree(nxt)
        leaf = not node.children
        rings = list(range(len(node.rings)))
        first = True
        while rings:
            if leaf and first:
                c, _ = _mic(node.poly, self.tol)
                cp = Point(c)
                i = min(rings, key=lambda k: LineString(node.rings[k]).distance(cp))
            elif self.prev_ring is not None:
                prl = LineString(self.prev_ring)
                i = min(rings, key=lambda k: LineString(node.rings[k]).distance(prl))
            else:
                i = rings[0]
            rings.remove(i)
            self._cut_ring(node, node.rings[i], entry=(leaf and first))
            first = False

    def plan(self) -> None:
        self.make_grid()
        roots = list(self.roots)
        while roots:
            if self.pos is None:
                nxt = max(roots, key=lambda n: n.poly.area)
            else:
                pp = Point(self.pos)
                nxt = min(roots, key=lambda n: n.poly.distance(pp))
            roots.remove(nxt)
            self.prev_ring = None
            self._subtree(nxt)


# --------------------------------------------------------------------------- 3-D emission

def _emit_levels(pl: _Planner2D, p: PocketParams, zs: list[float]
                 ) -> tuple[list[dict[str, Any]], tuple[float, float, float]]:
    rows: list[dict[str, Any]] = []
    safe = float(p.safe_z)
    clr_max = min(1.0, safe - float(p.stock_top))
    tan_a = math.tan(math.radians(p.ramp_angle_deg))
    first = next(op for op in pl.ops if isinstance(op, _Entry))
    start = (float(first.approach[0]), float(first.approach[1]), safe)
    cur = np.array(start, dtype=float)

    def add(code: str, kind: str, x: float, y: float, z: float, feed: float = math.nan,
            eng: float = math.nan, **kw: Any) -> None:
        nonlocal cur
        x, y, z = float(x), float(y), float(z)
        if code == "G0" and abs(x - cur[0]) < 1e-12 and abs(y - cur[1]) < 1e-12 and abs(z - cur[2]) < 1e-12:
            return
        if code in ("G2", "G3"):
            ln = kw.pop("len_mm")
        else:
            ln = math.sqrt((x - cur[0]) ** 2 + (y - cur[1]) ** 2 + (z - cur[2]) ** 2)
        row = {"code": code, "x": x, "y": y, "z": z, "feed": feed if code != "G0" else math.nan,
               "len_mm": ln, "kind": kind, "engagement_deg": eng}
        row.update(kw)
        rows.append(row)
        cur = np.array([x, y, z])

    arc_code = "G3" if p.climb else "G2"  # material outside the helix: CCW is climb (see module doc)
    for li, z in enumerate(zs):
        z_above = float(p.stock_top) if li == 0 else zs[li - 1]
        z_app = z_above + clr_max
        for op in pl.ops:
            if isinstance(op, _Line):
                add("G1", op.kind, op.x, op.y, z, p.feed, op.eng)
                continue
            ax, ay = float(op.approach[0]), float(op.approach[1])
            if cur[2] < safe - 1e-12:
                add("G0", "rapid", cur[0], cur[1], safe)
            add("G0", "rapid", ax, ay, safe)
            add("G0", "rapid", ax, ay, z_app)
            if op.method in ("plunge", "drop"):
                add("G1", "plunge", ax, ay, z, p.plunge_feed)
            elif op.method == "helix":
                c, rh = op.center, op.rh
                drop = z_app - z
                per_half = math.pi * rh * tan_a
                n = max(1, int(math.ceil(drop / per_half - 1e-9)))
                zz = z_app
                sgn = 1.0
                for k in range(n + 2):  # n descending half turns, then one flat turn
                    z_end = z_app - drop * min(k + 1, n) / n
                    ex = c[0] - sgn * rh
                    sx = c[0] + sgn * rh
                    length = math.hypot(math.pi * rh, zz - z_end)
                    add(arc_code, "ramp", ex, c[1], z_end, p.plunge_feed, i=c[0] - sx, j=0.0, plane=17,
                        radius_mm=rh, len_mm=length)
                    zz = z_end
                    sgn = -sgn
                if np.hypot(cur[0] - op.end[0], cur[1] - op.end[1]) > 1e-9:  # odd count: back to start
                    add(arc_code, "ramp", op.end[0], op.end[1], z, p.plunge_feed, i=c[0] - cur[0], j=0.0,
                        plane=17, radius_mm=rh, len_mm=math.pi * rh)
            elif op.method == "ramp":
                path = op.path
                seg = np.hypot(*np.diff(path, axis=0).T)
                zz = z_app
                fwd = True
                guard = 0
                while zz > z + 1e-12 and guard < 10000:
                    guard += 1
                    pts = path[1:] if fwd else path[::-1][1:]
                    lens = seg if fwd else seg[::-1]
                    for pt, ln in zip(pts, lens):
                        znew = max(z, zz - ln * tan_a)
                        add("G1", "ramp", pt[0], pt[1], znew, p.plunge_feed)
                        zz = znew
                    fwd = not fwd
                if not fwd:  # we ended at the far end: come back along the path at depth
                    for pt in path[::-1][1:]:
                        add("G1", "ramp", pt[0], pt[1], z, p.plunge_feed)
        # level done
    add("G0", "rapid", cur[0], cur[1], safe)
    return rows, start


def plan_pocket(region: Any, *, tool_d: float, stepover: float, stepdown: float, depth: float,
                stock_top: float = 0.0, safe_z: float = 5.0, feed: float = 1200.0,
                plunge_feed: float = 300.0, climb: bool = True, entry: str = "helix",
                helix_d: float | None = None, ramp_angle_deg: float = 3.0,
                finish_allowance: float = 0.0, finish_pass: bool = True,
                tolerance: float = 0.01, name: str = "pocket") -> Toolpath:
    """Plan an offset (contour-parallel) pocket. See the module docstring for the method.

    Args:
        region: shapely Polygon (exterior = pocket wall, holes = islands), in mm, or an object
            with a ``.polygon`` (``workbench.geometry.Region``).
        tool_d: flat end mill diameter D, mm.
        stepover: ring spacing as a fraction of D, in (0, 1].
        stepdown: axial depth per pass ap, mm.
        depth: total pocket depth below ``stock_top``, mm.
        stock_top: Z of the stock surface, mm.
        safe_z: retract height for rapids, mm (>= stock_top).
        feed: cutting feed, mm/min (cuts, links, helix and ramp moves).
        plunge_feed: feed of every entry move (helix, ramp, plunge), mm/min.
        climb: climb milling with an M3 (clockwise) spindle: exterior rings CCW, island rings CW.
        entry: "helix" (falls back to ramp, then plunge), "ramp" (falls back to plunge) or
            "plunge".
        helix_d: diameter of the helix's centre path, mm (default D/2).
        ramp_angle_deg: descent angle of helix and ramp entries, degrees.
        finish_allowance: radial stock left on walls and islands by the roughing rings, mm.
        finish_pass: with an allowance, also cut the finish ring at the wall at each level.
        tolerance: chord tolerance and wall margin, mm (at most D/20).
        name: name of the job (meta and messages).

    Returns:
        Toolpath whose ``start`` is ``(x, y, safe_z)`` above the first entry point; the first
        move is the rapid down to the entry's approach height. ``meta`` holds ``params``
        (:class:`PocketParams` as a dict), ``tool``, ``region``, ``levels``,
        ``stepover_mm`` (effective), ``wall_margin_mm``, ``engagement_target_deg``,
        ``entries`` (counts), ``spurs``, ``residual_area_mm2``, ``unreachable_area_mm2`` and
        ``warnings``.

    Raises:
        InputError: a parameter out of range, or a region that is not a valid polygon.
        PlanningError: the tool fits nowhere in the region (message gives the largest
            inscribed circle).
    """
    t0 = time.perf_counter()
    p = PocketParams(tool_d=tool_d, stepover=stepover, stepdown=stepdown, depth=depth,
                     stock_top=stock_top, safe_z=safe_z, feed=feed, plunge_feed=plunge_feed,
                     climb=bool(climb), entry=entry, helix_d=helix_d, ramp_angle_deg=ramp_angle_deg,
                     finish_allowance=finish_allowance, finish_pass=bool(finish_pass),
                     tolerance=tolerance, name=name)
    p.validate()
    poly, label = region_polygon(region)
    pl = _Planner2D(p, poly, label)
    pl.build_tree()
    residual = pl.cleanup()
    pl.plan()
    zs = depth_levels(float(stock_top), float(stepdown), float(depth))
    target = straight_cut_engagement_deg(p.stepover * p.tool_d, p.tool_d)
    rows, start = _emit_levels(pl, p, zs)
    moves = moves_frame(rows)
    moves["slowdown"] = slowdown_for_engagement(moves["engagement_deg"].to_numpy(), target)
    r = p.tool_d / 2
    opened = poly.buffer(-r).buffer(r)
    meta = {
        "strategy": "offset",
        "name": name,
        "region": label,
        "params": p.to_dict(),
        "tool": {"type": "flat end mill", "diameter_mm": float(tool_d)},
        "levels": [float(z) for z in zs],
        "stepover_mm": float(pl.s),
        "wall_margin_mm": float(pl.margin),
        "engagement_target_deg": float(target),
        "entries": {k: int(v) for k, v in pl.counts.items() if k in ("helix", "ramp", "plunge", "drop")},
        "retracts_per_level": int(pl.counts["retracts"]),
        "spurs": int(pl.counts["spurs"]),
        "residual_area_mm2": float(residual),
        "unreachable_area_mm2": float(max(0.0, poly.area - opened.area)),
        "grid_cell_mm": float(pl.grid.h),
        "warnings": list(dict.fromkeys(pl.warnings)),
        "planning_s": round(time.perf_counter() - t0, 3),
    }
    return Toolpath(moves=moves, start=start, meta=meta)
