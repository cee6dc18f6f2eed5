"""Demo runs for the override-training notebook when no real run log is given.

The notebook's default run (papermill with no parameters) needs logged runs; a fresh checkout
has none. :func:`seed_demo_runs` plans one real pocket several times and logs each plan with
two *synthetic* observations, both stated in the run's ``notes``: the operator's feed override
on tight arcs (written into the arcs' ``slowdown``) and a measured time (the estimate times a
ratio). It is meant for a throw-away database only (the notebook puts it in the report folder).
"""

from __future__ import annotations

from typing import Any, Sequence

DEMO_NOTE = "DEMO: synthetic tight-arc feed override ({slow:.2f}) and measured time (x{ratio:.2f})"


def seed_demo_runs(log: Any, region: Any, machine_id: str, *, material_id: str = "maple_hard",
                   tool_d: float = 6.0, stepovers: Sequence[float] = (0.35, 0.45, 0.55),
                   stepdown: float = 2.0, depth: float = 4.0, feed: float = 1500.0,
                   arc_slowdown: Sequence[float] = (0.70, 0.75, 0.65),
                   time_ratio: Sequence[float] = (1.08, 1.12, 1.10), r_arc_mm: float = 5.0
                   ) -> list[int]:
    """Plan ``region`` once per stepover, log each plan with the synthetic observations.

    Returns the run ids. Raises what ``cam.plan_pocket``, ``machine.plan_motion`` and
    ``RunLog.log_plan`` raise.
    """
    from ..cam import plan_pocket
    from ..machine import plan_motion

    ids = []
    for so, slow, ratio in zip(stepovers, arc_slowdown, time_ratio):
        tp = plan_pocket(region, tool_d=tool_d, stepover=so, stepdown=stepdown, depth=depth, feed=feed)
        plan = plan_motion(tp, machine_id)
        arcs = plan.moves["code"].isin(["G2", "G3"]) & (plan.moves["radius_mm"] <= r_arc_mm)
        plan.moves.loc[arcs, "slowdown"] = slow
        ids.append(log.log_plan(plan, machine_id=machine_id, material_id=material_id,
                                job_name=f"demo_so{so:g}", act_time_s=plan.cycle_time_s * ratio,
                                notes=DEMO_NOTE.format(slow=slow, ratio=ratio)))
    return ids
