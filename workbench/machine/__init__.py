"""Machine profiles and the controller-accurate motion planner.

- :class:`MachineProfile`, :func:`load_machine`, :func:`list_machines`,
  :func:`from_grbl_settings`: kinematic limits as data (``data/machines/*.json``).
- :func:`plan_motion` -> :class:`MotionPlan`: grbl/grblHAL planner replica (junction deviation,
  per-axis limits, look-ahead, arcs chorded like ``mc_arc``) or jerk-limited S-curves; per move
  ``v_entry, v_exit, v_peak, t_s, limit``; :func:`estimate` reads a G-code file and plans it.
"""

from __future__ import annotations

from .motion import MotionPlan, estimate, format_hms, plan_motion
from .profile import (CONTROLLERS, MachineProfile, from_grbl_settings, list_machines, load_machine,
                      profile_from_dict)

__all__ = ["CONTROLLERS", "MachineProfile", "MotionPlan", "estimate", "format_hms",
           "from_grbl_settings", "list_machines", "load_machine", "plan_motion", "profile_from_dict"]
