"""Map datums and distances: every distance in the product is measured here.

Coordinates come in two systems. GPS, EXIF and `wx.getLocation` (unless asked for
`gcj02`) give WGS-84; Tencent and Amap map pickers, and the unit coordinates offices copy
from them, give GCJ-02 (国测局坐标, "火星坐标"): WGS-84 plus a published, deterministic
offset of up to several hundred metres inside China (about 550 m in Puning). Comparing the
two as one system flags an inspector at the door as far away, and lets a fake hide inside
the error. So every coordinate carries its system, and both ends of a distance are brought
to WGS-84 first.

The forward transformation is the widely published one (the same constants as
eviltransform and coordtransform); the inverse has no closed form and is solved by fixed
point iteration to well under 0.01 m. Outside mainland China's bounding box the offset is
zero, as in those implementations.
"""

from __future__ import annotations

import functools
import math
from enum import StrEnum


class CoordSystem(StrEnum):
    wgs84 = "wgs84"  # GPS, EXIF, wx.getLocation's default
    gcj02 = "gcj02"  # Tencent / Amap maps and pickers, wx.getLocation({type: 'gcj02'})


COORD_SYSTEM_LABELS = {
    CoordSystem.wgs84: "WGS-84（GPS 原始坐标）",
    CoordSystem.gcj02: "GCJ-02（腾讯/高德地图坐标）",
}

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius: the one radius of every distance

# Krasovsky 1940 ellipsoid, as the published GCJ-02 algorithm uses it.
_A = 6_378_245.0
_EE = 0.00669342162296594323
# The inverse stops when a step moves the point less than this (degrees; ~0.1 mm).
_INVERSE_TOLERANCE_DEG = 1e-9
_INVERSE_MAX_STEPS = 30


def outside_china(lat: float, lng: float) -> bool:
    """The bounding box the published implementations use; no offset outside it."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if outside_china(lat, lng):
        return lat, lng
    d_lat = _offset_lat(lng - 105.0, lat - 35.0)
    d_lng = _offset_lng(lng - 105.0, lat - 35.0)
    rad_lat = math.radians(lat)
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lat + d_lat, lng + d_lng


@functools.lru_cache(maxsize=4096)
def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """The WGS-84 point whose GCJ-02 image is (lat, lng): the offset varies slowly, so
    subtracting the offset found at the current guess converges in a few steps.

    Remembered: a unit's coordinates come up with every check-in at it, and the
    iteration costs a check-in more than the rest of its distance."""
    if outside_china(lat, lng):
        return lat, lng
    w_lat, w_lng = lat, lng
    for _ in range(_INVERSE_MAX_STEPS):
        g_lat, g_lng = wgs84_to_gcj02(w_lat, w_lng)
        step_lat, step_lng = g_lat - lat, g_lng - lng
        w_lat, w_lng = w_lat - step_lat, w_lng - step_lng
        if abs(step_lat) < _INVERSE_TOLERANCE_DEG and abs(step_lng) < _INVERSE_TOLERANCE_DEG:
            break
    return w_lat, w_lng


def to_wgs84(lat: float, lng: float, system: CoordSystem | str) -> tuple[float, float]:
    if CoordSystem(system) is CoordSystem.gcj02:
        return gcj02_to_wgs84(lat, lng)
    return lat, lng


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance between two points of ONE datum; plenty for "is the inspector
    at the unit". Callers with points of different systems use `distance_m`."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


Point = tuple[float, float, CoordSystem | str]  # (latitude, longitude, system)


def distance_m(a: Point, b: Point) -> float:
    """Metres between two points, each in its own system: both go to WGS-84 first."""
    return haversine_m(*to_wgs84(*a), *to_wgs84(*b))
