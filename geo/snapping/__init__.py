"""Stage: snapping. Joining points to the network: the snapping rule (which streets a point
may join, how far off), the exact nearest-edge index, and placing stations, people and
sites with every check a user is told about.

Public names:

- snap.SnapRule
- snap.Snapped
- placement.place_points
- segment_index.SegmentIndex
- compiled (the public face of the private numba kernels ``_many_points`` and ``_one_point``)

This file imports nothing, so that importing one module of the stage stays cheap.
"""
