"""Sources of telemetry data: a virtual machine and a grbl status-report reader.

- :mod:`.virtual_machine`: runs a toolpath / G-code file through the motion planner and
  records commands, servo feedback (first-order lag, transport delay, noise), smoother ticks,
  camera health, web requests and system events with physically consistent timestamps.
- :mod:`.grbl`: ingests the ``<Run|MPos:...|FS:...>`` status reports of grbl/grblHAL from a
  captured serial log or live from a serial port.
"""
