"""Workbench: a Jupyter-first analytics workbench for fabrication shops.

The package holds every engine; notebooks only orchestrate and show. The main job is a chain
of plain functions over plain data (see ``DESIGN.md``)::

    geometry.read_regions  DXF -> Region (shapely Polygon with holes, mm)
    cam.plan_pocket        Region -> Toolpath (moves table + meta)
    machine.plan_motion    Toolpath -> per-move v_entry/v_exit/t_s/limit, cycle time
    gcode.write            Toolpath -> G-code text for one post-processor

Units inside the package: mm, mm/min for feeds, s; mm/s and mm/s^2 inside the motion planner.
"""

__version__ = "0.1.0"
