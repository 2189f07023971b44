"""Stage: courier. The courier's question: the nearest stations from one position, the walk
there, and the links that start navigation in Amap or Baidu Maps.

Public names:

- nearest.NearestIndex
- table (answers from tables made at load)
- beyond (answers past the limit)
- grid (the offline page's lookup grid)
- navigation (app links)

This file imports nothing, so that importing one module of the stage stays cheap.
"""
