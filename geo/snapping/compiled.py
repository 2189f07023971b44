"""The compiled loops' public face: what other stages may call of snapping's kernels.

The numba kernels (``_many_points``, ``_one_point``) are private to this package;
the courier's answers reach the three they need (the table merge, the warm-up,
the route's shape) through here, and ``make`` compiles them all once with
``python -m circle15.geo.snapping.compiled``. Importing this module loads numba.
"""

from __future__ import annotations

from circle15.geo.snapping._many_points import compile_loops
from circle15.geo.snapping._one_point import merge_table, prepare, route_xy

__all__ = ["compile_loops", "merge_table", "prepare", "route_xy"]

if __name__ == "__main__":
    print(f"circle15: compiled loops ready ({compile_loops():.1f} s)")
