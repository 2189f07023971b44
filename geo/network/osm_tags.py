"""OSM tag rules: which ways belong to the walking network (and to the riding
network of bicycles and e-bikes, with its one-way rules), and which of them a
point may join from where it stands (snap prevention).

Two questions, kept apart. *Walkable* ways form the network that people walk
through. Some walkable ways cannot be stepped onto from the surface beside them
(a tunnel under the street, a bridge over a motorway, an indoor corridor, a
trunk road without a sidewalk): people, stations and couriers do not *join* the
network there, though routes may pass through them. Like GraphHopper's
``snap_preventions``, each such class has a name; a list of names says which
are avoided.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

# Ways a pedestrian can use, following the rules OSM routers use for walking:
# highway values that are never walkable, and tags that close a way to walkers.
NOT_WALKABLE_HIGHWAY = frozenset(
    {
        "abandoned", "bus_guideway", "construction", "disused", "motorway",
        "motorway_link", "motorroad", "no", "planned", "platform", "proposed",
        "raceway", "razed", "busway", "escape", "elevator_shaft", "bus_stop",
        "services", "rest_area",
    }
)
FOOT_OK = frozenset({"yes", "designated", "permissive", "official", "destination"})


class Tags(Protocol):
    """What the rules read of a way's tags: a dict, or pyosmium's tag list as it is
    (copying that into a dict costs a second on a district's 60,000 ways)."""

    def get(self, key: str, default: None = None, /) -> str | None: ...


def is_walkable(tags: Tags) -> bool:
    """Whether an OSM way with these tags belongs to the walking network.

    Cycleways count only when walking is explicitly allowed on them; private
    access, ``foot=no`` and areas (pedestrian squares drawn as polygons) are out.
    """
    highway = tags.get("highway")
    if highway is None or highway in NOT_WALKABLE_HIGHWAY:
        return False
    foot = tags.get("foot")
    if foot == "no" or foot == "use_sidepath":
        return False
    if tags.get("area") == "yes":
        return False
    if tags.get("access") in ("private", "no") and foot not in FOOT_OK:
        return False
    if tags.get("service") == "private":
        return False
    return not (highway == "cycleway" and foot not in FOOT_OK)


# ---------------------------------------------------------------------------
# riding: where bicycles and e-bikes may go, and in which direction

#: highway values closed to riders on top of those closed to everyone
NOT_RIDEABLE_HIGHWAY = NOT_WALKABLE_HIGHWAY | frozenset({"motorway", "motorway_link", "corridor",
                                                         "elevator", "via_ferrata"})
#: foot-only ways: ridden only with an explicit ``bicycle=yes/designated/…``
FOOT_ONLY_HIGHWAY = frozenset({"footway", "pedestrian", "steps", "bridleway"})
BICYCLE_OK = frozenset({"yes", "designated", "permissive", "official", "destination"})
_TRUE = frozenset({"yes", "true", "1"})
#: motorway-like ways are one-way unless tagged otherwise (closed to riders anyway)
_IMPLIED_ONEWAY = frozenset({"motorway", "motorway_link"})


def is_rideable(tags: Tags) -> bool:
    """Whether a bicycle or e-bike may ride an OSM way with these tags.

    Roads and cycleways are in; motorways (and their links, and
    ``motorroad=yes`` expressways) are out; foot-only ways (footway,
    pedestrian, steps, bridleway) are in only with ``bicycle=yes/designated``;
    ``bicycle=no``/``use_sidepath``, private access and areas are out.
    """
    highway = tags.get("highway")
    if highway is None or highway in NOT_RIDEABLE_HIGHWAY:
        return False
    bicycle = tags.get("bicycle")
    if bicycle in ("no", "use_sidepath"):
        return False
    if highway in FOOT_ONLY_HIGHWAY and bicycle not in BICYCLE_OK:
        return False
    if tags.get("motorroad") == "yes" or tags.get("area") == "yes":
        return False
    access = tags.get("access")
    if access in ("private", "no") and bicycle not in BICYCLE_OK:
        return False
    return tags.get("service") != "private"


def bicycle_oneway(tags: Tags) -> int:
    """The direction a rider may take along a way: 0 both, 1 along its node order,
    -1 against it.

    ``oneway=yes/true/1`` and ``-1``/``reverse``, ``junction=roundabout`` and
    motorway-like ways are one-way, unless ``oneway:bicycle=no`` or an
    ``cycleway…=opposite*`` lane lets riders go both ways.
    """
    own = tags.get("oneway:bicycle")
    if own == "no":
        return 0
    for key in ("cycleway", "cycleway:left", "cycleway:right", "cycleway:both"):
        if (tags.get(key) or "").startswith("opposite"):
            return 0
    value = own if own is not None else tags.get("oneway")
    if value in _TRUE:
        return 1
    if value in ("-1", "reverse"):
        return -1
    if value is not None:  # no, false, 0, reversible, alternating: both ways
        return 0
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") in _IMPLIED_ONEWAY:
        return 1
    return 0


# ---------------------------------------------------------------------------
# snap prevention: one bit per class of way a point may not join

#: name -> bit of the per-edge ``join_flags`` array
SNAP_CLASSES: dict[str, int] = {
    "tunnel": 1,       # tunnel=* other than no / building_passage
    "underground": 2,  # layer < 0, unless a building passage
    "indoor": 4,       # indoor=* other than no, or highway=corridor
    "bridge": 8,       # bridge=* other than no
    "trunk": 16,       # trunk / trunk_link without a sidewalk or foot permission
}
#: what a point may not join unless told otherwise (``--snap-avoid``)
DEFAULT_SNAP_AVOID: tuple[str, ...] = tuple(SNAP_CLASSES)

_NO_SIDEWALK = frozenset({"no", "none", "separate"})
_FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "official"})


def _layer(value: str | None) -> float:
    """The numeric OSM ``layer`` (first of ``a;b``), 0 when absent or unreadable."""
    if not value:
        return 0.0
    try:
        return float(value.split(";")[0].strip())
    except ValueError:
        return 0.0


def _has_sidewalk(tags: Tags) -> bool:
    for key in ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right"):
        value = tags.get(key)
        if value is not None and value not in _NO_SIDEWALK:
            return True
    return False


def join_flags(tags: Tags) -> int:
    """The snap-prevention classes (bits of :data:`SNAP_CLASSES`) of a way."""
    flags = 0
    tunnel = tags.get("tunnel")
    passage = tunnel == "building_passage"
    if tunnel is not None and tunnel not in ("no", "building_passage"):
        flags |= SNAP_CLASSES["tunnel"]
    if _layer(tags.get("layer")) < 0 and not passage:
        flags |= SNAP_CLASSES["underground"]
    indoor = tags.get("indoor")
    if (indoor is not None and indoor != "no") or tags.get("highway") == "corridor":
        flags |= SNAP_CLASSES["indoor"]
    bridge = tags.get("bridge")
    if bridge is not None and bridge != "no":
        flags |= SNAP_CLASSES["bridge"]
    if (tags.get("highway") in ("trunk", "trunk_link") and not _has_sidewalk(tags)
            and tags.get("foot") not in _FOOT_ALLOWED):
        flags |= SNAP_CLASSES["trunk"]
    return flags


def parse_snap_avoid(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"tunnel,bridge"`` / ``["tunnel"]`` / ``"none"`` -> the class names avoided.

    ``None`` means the default (every class); ``"none"`` or an empty list switches
    snap prevention off.
    """
    if value is None:
        return DEFAULT_SNAP_AVOID
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [s.strip().lower() for s in items if s.strip()]
    if names in ([], ["none"]):
        return ()
    unknown = [n for n in names if n not in SNAP_CLASSES]
    if unknown:
        from circle15.geo.errors import SettingsError, ref

        msg = (f"{ref('snap_avoid')}: unknown class {', '.join(unknown)}; use a comma-separated "
               "list "
               f"of {', '.join(SNAP_CLASSES)}, or none")
        raise SettingsError(msg)
    return tuple(dict.fromkeys(names))


def avoid_mask(names: Iterable[str]) -> int:
    """The bit mask of the named classes."""
    mask = 0
    for name in names:
        mask |= SNAP_CLASSES[name]
    return mask


def joinable(flags: np.ndarray, avoid: Iterable[str]) -> np.ndarray:
    """Boolean array: edges a point may join under the ``avoid`` list."""
    return (np.asarray(flags, dtype=np.int64) & avoid_mask(avoid)) == 0
