"""Stage: inputs. Reading what planners give: tables (CSV, XLSX, GeoJSON) with clear
errors, stations with their opening hours, and the offline demo inputs.

Public names:

- tables.read_table
- stations.Stations
- stations.read_stations
- station_hours (opening_hours evaluated)
- demo.write_demo_inputs

This file imports nothing, so that importing one module of the stage stays cheap.
"""
