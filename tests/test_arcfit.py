"""Arc fitting (workbench.cam.arcfit): arcs within tolerance of the points they replace."""

import math

import numpy as np
import pytest

from workbench.cam.arcfit import fit_arcs
from workbench.errors import InputError


def _arc_dist(row, start, pts):
    cx, cy = start[0] + row["i"], start[1] + row["j"]
    return np.abs(np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) - row["radius_mm"])


def test_semicircle_becomes_one_arc_and_lines_stay_lines():
    t = np.linspace(0, math.pi, 60)
    arc = np.c_[10 * np.cos(t), 10 * np.sin(t)]
    pts = np.vstack([arc, [[-10, -5], [-10, -10], [-5, -10]]])
    m = fit_arcs(pts, 0.01)
    assert list(m["code"]) == ["G3", "G1", "G1"]
    r0 = m.iloc[0]
    assert r0["radius_mm"] == pytest.approx(10.0, abs=1e-6)
    assert r0["len_mm"] == pytest.approx(10 * math.pi, rel=1e-6)
    assert _arc_dist(r0, pts[0], arc).max() <= 0.01
    assert m["len_mm"].iloc[1:].tolist() == pytest.approx([10.0, 5.0])


def test_clockwise_noisy_arc_within_tolerance():
    rng = np.random.default_rng(1)
    t = np.linspace(0, -1.5 * math.pi, 120)
    pts = np.c_[5 + 8 * np.cos(t), 8 * np.sin(t)] + rng.normal(0, 0.002, (120, 2))
    m = fit_arcs(pts, 0.01)
    assert set(m["code"]) <= {"G2", "G1"} and (m["code"] == "G2").any()
    start = pts[0]
    k = 0
    for _, row in m.iterrows():
        # points replaced by this row
        end = np.array([row["x"], row["y"]])
        j = k + 1 + int(np.argmin(np.hypot(*(pts[k + 1:] - end).T)))
        if row["code"] == "G2":
            assert _arc_dist(row, start, pts[k:j + 1]).max() <= 0.01 + 1e-9
        start, k = end, j
    assert len(m) < 10


def test_zigzag_is_not_fitted():
    pts = np.array([[0, 0], [1, 1], [2, 0], [3, 1], [4, 0]], float)
    m = fit_arcs(pts, 0.01)
    assert (m["code"] == "G1").all() and len(m) == 4


def test_bad_tolerance():
    with pytest.raises(InputError):
        fit_arcs(np.zeros((3, 2)), 0.0)
