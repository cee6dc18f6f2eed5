"""Energy and heat of a toolpath, and the thermal report.

- :mod:`.materials`: workpiece materials (``data/materials/*.json``) with sources;
- :mod:`.heightmap`: removed volume per move from a heightmap of the stock;
- :mod:`.energy`: ae, ap, MRR, specific energy, power, energy, heat split per move;
- :mod:`.heat`: power over time in bins that conserve energy;
- :mod:`.report`: the Markdown thermal report, CSV exports, PNG and the ZIP bundle.
"""

from .energy import (ENERGY_COLUMNS, ae_from_engagement, annotate, cutting_power_w,
                     mean_chip_thickness, mrr_mm3_s, pass_depths, specific_energy, totals)
from .heat import heat_series, integrate, sparkline
from .materials import Material, MaterialError, list_materials, load_material

__all__ = [
    "ENERGY_COLUMNS", "Material", "MaterialError", "ae_from_engagement", "annotate",
    "cutting_power_w", "heat_series", "integrate", "list_materials", "load_material",
    "mean_chip_thickness", "mrr_mm3_s", "pass_depths", "sparkline", "specific_energy", "totals",
]
from .report import (ThermalReport, bottleneck_share, budget_status, load_moves_json, plot_power,
                     thermal_report_bundle, write_bundle, write_report)

__all__ += ["ThermalReport", "bottleneck_share", "budget_status", "load_moves_json", "plot_power",
            "thermal_report_bundle", "write_bundle", "write_report"]
