"""Stage: output. Writing results: GeoPackage, CSV and XLSX files, the output coordinate
system (WGS84, GCJ-02, BD-09), printed tables and charts.

Public names:

- export.write_coverage
- export.write_frames
- export.format_summary
- out_crs.table_in
- report (the XLSX workbook)
- charts.hourly_chart

This file imports nothing, so that importing one module of the stage stays cheap.
"""
