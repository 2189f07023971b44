"""circle15: 15-minute service circles of outdoor-worker stations on real street networks.

For notebooks, the analysts' API (:mod:`circle15.analysis`)::

    import circle15
    area = circle15.Area.load("district.osm.pbf", population="people.tif",
                              areas="towns.geojson")
    area.coverage(area.stations("stations.csv")).explore()

The command line is ``circle15`` (:mod:`circle15.cli`), the service
``circle15 serve`` (:mod:`circle15.api`); all three answer through
:mod:`circle15.usecases`. Importing this package stays light: the names below
load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Area", "CoverageResult", "GapsResult", "SitesResult"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from circle15 import analysis

        return getattr(analysis, name)
    raise AttributeError(f"module 'circle15' has no attribute {name!r}")
