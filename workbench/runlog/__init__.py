"""CAM run log: ``runs`` + ``segments`` tables, bottleneck caps, one-call logging of a plan.

>>> log = open_log("sqlite:///var/workbench.db")      # migrations applied
>>> run_id = log.write_run({"machine_id": ..., ...}, segments)
>>> log.caps("Mach4_Router_4x8")["counts"]
"""

from .store import (REQUIRED_RUN_FIELDS, NoLogsError, RunLog, RunLogError, caps, log_plan,
                    open_log, plan_to_records, validate_run, validate_segments, write_run)
from .tables import runs, segments

__all__ = ["REQUIRED_RUN_FIELDS", "NoLogsError", "RunLog", "RunLogError", "caps", "log_plan",
           "open_log", "plan_to_records", "runs", "segments", "validate_run", "validate_segments",
           "write_run"]
