"""Map datums: the WGS-84 ↔ GCJ-02 transformation against known pairs, and one haversine.

Known pairs:
- Puning, from the issue: WGS-84 23.2951, 116.1498 is GCJ-02 23.29263, 116.15451 (~554 m).
- Beijing (Tiananmen), computed with core.geo and cross-checked with two independent
  implementations from PyPI, installed only for the check and not kept as dependencies:
  coordtransform 0.2.1 (`coordTransform.wgs84_to_gcj02(116.3975, 39.9087)`) gave
  [116.40374357265176, 39.91010349934476], the same to the last digit; eviltransform 0.1.1
  (`wgs2gcj(39.9087, 116.3975)`) gave (39.91010352310999, 116.40374367837322), 1 cm away
  (it rearranges the same formula), and its `gcj2wgs_exact` gave back the WGS-84 point within
  1 mm.
- Outside China the offset is zero.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

from core.geo import distance_m, gcj02_to_wgs84, haversine_m, wgs84_to_gcj02

ROOT = pathlib.Path(__file__).resolve().parents[1]

PUNING_WGS84 = (23.2951, 116.1498)
PUNING_GCJ02 = (23.29263, 116.15451)
BEIJING_WGS84 = (39.9087, 116.3975)
BEIJING_GCJ02 = (39.91010349934476, 116.40374357265176)


def metres(a, b):
    return haversine_m(*a, *b)


@pytest.mark.parametrize(
    ("wgs84", "gcj02", "within_m"),
    [(PUNING_WGS84, PUNING_GCJ02, 1.0), (BEIJING_WGS84, BEIJING_GCJ02, 0.01)],
    ids=["puning", "beijing"],
)
def test_known_pairs_both_ways(wgs84, gcj02, within_m):
    assert metres(wgs84_to_gcj02(*wgs84), gcj02) < within_m
    assert metres(gcj02_to_wgs84(*gcj02), wgs84) < within_m


def test_puning_offset_is_larger_than_the_check_in_radius():
    assert 540 < metres(PUNING_WGS84, PUNING_GCJ02) < 570
    assert distance_m((*PUNING_WGS84, "wgs84"), (*PUNING_GCJ02, "gcj02")) < 1.0


@pytest.mark.parametrize(
    "point",
    [(48.8566, 2.3522), (35.6812, 139.7671), (-33.8688, 151.2093), (40.7128, -74.006)],
    ids=["paris", "tokyo", "sydney", "new-york"],
)
def test_outside_china_nothing_moves(point):
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point
    assert distance_m((*point, "wgs84"), (*point, "gcj02")) == 0


@pytest.mark.parametrize("lat", [18.25, 23.3, 30.6, 39.9, 45.75, 53.0])
@pytest.mark.parametrize("lng", [75.99, 91.1, 104.07, 116.17, 126.6, 134.0])
def test_the_inverse_lands_within_a_centimetre(lat, lng):
    there = wgs84_to_gcj02(lat, lng)
    assert metres(gcj02_to_wgs84(*there), (lat, lng)) < 0.01


def test_one_haversine_in_the_product():
    """Two haversines with different Earth radii drifted apart once; distances are measured
    in core/geo.py only (a great-circle formula needs asin/atan2 of a half-angle sine)."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "tests", "migrations"} or relative == pathlib.Path(
            "core/geo.py"
        ):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"asin", "atan2", "haversine"}:
                offenders.append(f"{relative}:{node.lineno}")
    assert offenders == []
