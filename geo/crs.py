"""Coordinate systems: WGS84, the Chinese GCJ-02 / BD-09 offsets, local UTM.

OSM and GPS use WGS84. Amap (Gaode) and Tencent publish GCJ-02, an obfuscated
offset of WGS84 defined only inside China; Baidu publishes BD-09, a further
rotation of GCJ-02. The forward WGS84 -> GCJ-02 formula is public; there is no
closed-form inverse, so the inverses here iterate the forward formula to
sub-millimetre agreement. All functions are vectorised over numpy arrays.

Inside, everything is computed in metres in the local UTM zone; WGS84 is used
only at the edges (input, maps, API).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from circle15.geo.errors import SettingsError

InputCRS = Literal["wgs84", "gcj02", "bd09"]
INPUT_CRS: tuple[str, ...] = get_args(InputCRS)

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

# GCJ-02 applies only inside mainland China; outside this box it is identity
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

_Arr = NDArray[np.float64]


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where a WGS84/GCJ-02 coordinate lies in the box GCJ-02 applies to."""
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    return (
        (lon_a >= _CHINA_LON[0])
        & (lon_a <= _CHINA_LON[1])
        & (lat_a >= _CHINA_LAT[0])
        & (lat_a <= _CHINA_LAT[1])
    )


def _gcj_delta(lon: _Arr, lat: _Arr) -> tuple[_Arr, _Arr]:
    """The GCJ-02 offset in degrees at WGS84 (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    d_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[_Arr, _Arr]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a.astype(float), lat_a.astype(float)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[_Arr, _Arr]:
    """WGS84 -> GCJ-02 (degrees). Identity outside China."""
    lon_a, lat_a = _as_arrays(lon, lat)
    d_lon, d_lat = _gcj_delta(lon_a, lat_a)
    return lon_a + d_lon, lat_a + d_lat


def _invert(
    forward: Callable[[_Arr, _Arr], tuple[_Arr, _Arr]], lon: _Arr, lat: _Arr
) -> tuple[_Arr, _Arr]:
    """Solve forward(x) = (lon, lat) by fixed-point iteration.

    The offsets change by well under 1e-5 per degree, so each step shrinks the
    error by about five orders of magnitude; a handful of steps reach 1e-12 deg.
    """
    x_lon, x_lat = lon.copy(), lat.copy()
    for _ in range(10):
        f_lon, f_lat = forward(x_lon, x_lat)
        e_lon, e_lat = f_lon - lon, f_lat - lat
        x_lon -= e_lon
        x_lat -= e_lat
        if np.nanmax(np.abs(e_lon), initial=0.0) < 1e-12 and np.nanmax(
            np.abs(e_lat), initial=0.0
        ) < 1e-12:
            break
    return x_lon, x_lat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[_Arr, _Arr]:
    """GCJ-02 -> WGS84 (degrees), exact to well below a millimetre."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _invert(wgs84_to_gcj02, lon_a, lat_a)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[_Arr, _Arr]:
    """GCJ-02 -> BD-09 (degrees)."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[_Arr, _Arr]:
    """BD-09 -> GCJ-02 (degrees), iterated to well below a millimetre."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _invert(gcj02_to_bd09, lon_a, lat_a)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[_Arr, _Arr]:
    """WGS84 -> BD-09 (degrees)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[_Arr, _Arr]:
    """BD-09 -> WGS84 (degrees)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def check_input_crs(crs: str) -> InputCRS:
    """Normalise a user's coordinate-system name (case-insensitive)."""
    name = crs.strip().lower().replace("-", "").replace("_", "")
    aliases = {"wgs84": "wgs84", "epsg4326": "wgs84", "gcj02": "gcj02", "gcj": "gcj02",
               "amap": "gcj02", "bd09": "bd09", "baidu": "bd09"}
    if name not in aliases:
        msg = f"unknown coordinate system {crs!r}; use one of {', '.join(INPUT_CRS)}"
        raise SettingsError(msg)
    return aliases[name]  # type: ignore[return-value]


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[_Arr, _Arr]:
    """Convert coordinates given in ``crs`` (wgs84, gcj02, bd09) to WGS84."""
    kind = check_input_crs(crs)
    if kind == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if kind == "bd09":
        return bd09_to_wgs84(lon, lat)
    return _as_arrays(lon, lat)


def geometries_to_wgs84(geoms: ArrayLike, crs: str) -> NDArray[np.object_]:
    """Convert every vertex of shapely geometries from ``crs`` to WGS84."""
    kind = check_input_crs(crs)
    arr = np.asarray(geoms, dtype=object)
    if kind == "wgs84":
        return arr

    def convert(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1], kind)
        return np.column_stack([lon, lat])

    return np.asarray(shapely.transform(arr, convert), dtype=object)


def utm_crs_for(lon: float, lat: float) -> pyproj.CRS:
    """The WGS84 UTM zone containing (lon, lat)."""
    if not (-180.0 <= lon <= 180.0 and -80.0 <= lat <= 84.0):
        msg = f"no UTM zone for lon={lon}, lat={lat}"
        raise SettingsError(msg)
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    return pyproj.CRS.from_epsg(epsg)


def transformer(src: pyproj.CRS | str, dst: pyproj.CRS | str) -> pyproj.Transformer:
    """A cached-per-call lon/lat-ordered transformer between two CRSs."""
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)
