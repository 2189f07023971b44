"""Stage: population. The demand layers: population from points, rasters, census polygons
or buildings; outdoor workers; and the placed layers kept on disk.

Public names:

- points.Population
- points.read_population
- sources (raster, census, buildings)
- workers (outdoor-worker demand)
- cache.cached_population

This file imports nothing, so that importing one module of the stage stays cheap.
"""
