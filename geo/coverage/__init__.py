"""Stage: coverage. Counting: bounded searches from stations, who is within the limit of
one station, of two, of none; gaps, isochrones, what-if changes, station load and
coverage by hour.

Public names:

- count.Coverage
- count.compute_coverage
- count.CoverageSettings
- reach (bounded searches)
- gaps.find_gaps
- isochrones.isochrones
- whatif.what_if
- load.station_load
- hourly.coverage_by_hour

This file imports nothing, so that importing one module of the stage stays cheap.
"""
