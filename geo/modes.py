"""Travel modes: walking (the default), e-bike and bicycle.

A mode names the network people move on and the speed that turns minutes into
metres. ``walk`` is the walking network at 4 km/h; ``ebike`` (15 km/h) and
``bike`` (12 km/h) share the riding network (:func:`circle15.geo.network.osm_tags.is_rideable`:
roads and cycleways, no motorways or foot-only ways, one-way rules kept for
riders). Each mode has its own network in the cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from circle15.geo.errors import SettingsError, ref
from circle15.geo.vocab import MAX_SPEED_KMH, MIN_SPEED_KMH, SPEEDS_KMH, Mode, words

#: mode -> default speed, km/h
DEFAULT_SPEEDS_KMH: dict[str, float] = SPEEDS_KMH
MODES: tuple[str, ...] = words(Mode)
DEFAULT_MODE = str(Mode.WALK)


def check_mode(name: str | None) -> str:
    """A valid mode name (``None`` -> ``walk``), or a clear error."""
    if name is None:
        return DEFAULT_MODE
    mode = str(name).strip().lower()
    if mode not in DEFAULT_SPEEDS_KMH:
        msg = f"{ref('mode')}: unknown travel mode {name!r}; use one of {', '.join(MODES)}"
        raise SettingsError(msg)
    return mode


def is_riding(mode: str) -> bool:
    """Whether a mode moves on the riding network (one-way rules apply)."""
    return check_mode(mode) != "walk"


@dataclass(frozen=True)
class TravelMode:
    """A mode and its speed."""

    name: str = DEFAULT_MODE
    speed_kmh: float = DEFAULT_SPEEDS_KMH[DEFAULT_MODE]

    @classmethod
    def of(cls, name: str | None = None, speed_kmh: float | None = None) -> TravelMode:
        """``TravelMode.of("ebike")`` -> 15 km/h; ``of("ebike", 20)`` -> 20 km/h."""
        mode = check_mode(name)
        speed = DEFAULT_SPEEDS_KMH[mode] if speed_kmh is None else float(speed_kmh)
        if not (MIN_SPEED_KMH <= speed <= MAX_SPEED_KMH):
            msg = (f"{ref('speed_kmh')}: the {mode} speed must be between {MIN_SPEED_KMH:g} and "
                   f"{MAX_SPEED_KMH:g} km/h, not {speed_kmh}")
            raise SettingsError(msg)
        return cls(mode, speed)

    @property
    def riding(self) -> bool:
        return self.name != "walk"

    @property
    def metres_per_minute(self) -> float:
        return self.speed_kmh * 1000.0 / 60.0

    def describe(self) -> str:
        """``"walking at 4 km/h"`` / ``"riding an e-bike at 15 km/h"``."""
        what = {"walk": "walking", "ebike": "riding an e-bike", "bike": "cycling"}[self.name]
        return f"{what} at {self.speed_kmh:g} km/h"
