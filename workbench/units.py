"""Units at the boundaries.

Inside the package everything is millimetres, mm/min for feeds and seconds. Inches exist only
at the boundaries (DXF and G-code import/export).
"""

from __future__ import annotations

MM_PER_IN: float = 25.4
"""Exact by definition (international yard and pound agreement, 1959)."""
