"""The moves-table contract: defaults, validation and the exact JSON round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from workbench.errors import InputError
from workbench.toolpath import (MOVE_COLUMNS, Toolpath, empty_moves, from_json_moves, moves_frame,
                                to_json_moves, validate_moves)


def test_moves_frame_fills_defaults_in_canonical_order() -> None:
    df = moves_frame([{"code": "G1", "x": 1.0, "y": 2.0, "z": -1.0, "feed": 600.0, "extra": 7}])
    assert list(df.columns) == list(MOVE_COLUMNS) + ["extra"]
    row = df.iloc[0]
    assert row["slowdown"] == 1.0 and row["trochoid"] is np.False_ and row["plane"] == 17
    assert math.isnan(row["i"]) and row["kind"] == "cut" and row["line"] == 0
    validate_moves(df)
    assert list(empty_moves().columns) == list(MOVE_COLUMNS)


@pytest.mark.parametrize("bad, msg", [
    ({"code": "G7"}, "unknown code"),
    ({"kind": "teleport"}, "unknown kind"),
    ({"x": float("nan")}, "end point is not finite"),
])
def test_validate_names_the_row(bad: dict, msg: str) -> None:
    rows = [{"code": "G1", "x": 0.0, "y": 0.0, "z": 0.0}, {"code": "G1", "x": 1.0, "y": 0.0, "z": 0.0}]
    rows[1].update(bad)
    with pytest.raises(InputError, match=f"row 1: {msg}"):
        validate_moves(moves_frame(rows))


def test_json_round_trip_is_exact() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for n in range(50):
        code = ["G0", "G1", "G2", "G3"][n % 4]
        r = {"code": code, "x": rng.normal(), "y": rng.normal(), "z": -rng.random(),
             "feed": math.nan if code == "G0" else 1000 * rng.random(), "len_mm": rng.random(),
             "kind": "rapid" if code == "G0" else "cut", "engagement_deg": 180 * rng.random(),
             "slowdown": rng.random(), "trochoid": bool(n % 3 == 0)}
        if code in ("G2", "G3"):
            r.update(i=rng.normal(), j=rng.normal(), radius_mm=rng.random())
        rows.append(r)
    df = moves_frame(rows)
    text = json.dumps(to_json_moves(df))
    back = from_json_moves(json.loads(text))
    pd.testing.assert_frame_equal(back[list(MOVE_COLUMNS)], df[list(MOVE_COLUMNS)])


def test_original_minimal_form_is_accepted() -> None:
    # the original system's example payload: axes left out keep their previous value
    df = from_json_moves([{"code": "G1", "x": 10, "y": 0}, {"code": "G1", "x": 10, "y": 10}])
    assert df[["x", "y", "z"]].to_numpy().tolist() == [[10, 0, 0], [10, 10, 0]]
    with pytest.raises(InputError, match=r"moves\[1\]"):
        from_json_moves([{"code": "G1"}, {"x": 1}])


def test_starts_are_previous_ends() -> None:
    tp = Toolpath(moves_frame([{"code": "G1", "x": 1, "y": 0, "z": 0}, {"code": "G1", "x": 1, "y": 1, "z": 0}]),
                  start=(0.0, 0.0, 5.0))
    assert tp.starts().tolist() == [[0, 0, 5], [1, 0, 0]]
