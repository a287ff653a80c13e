"""The seed data in geodata/: consistent with itself, honest about what it knows."""

import csv
import json
from pathlib import Path

import pytest
from shapely.geometry import shape

from sites.cities import CITIES
from sites.inventory import read_districts

GEODATA = Path(__file__).resolve().parents[2] / "geodata"


@pytest.fixture(scope="module")
def features():
    return json.loads((GEODATA / "sites.geojson").read_text(encoding="utf-8"))["features"]


@pytest.mark.parametrize("name", list(CITIES))
def test_city_extents_cover_the_boundary_files(name):
    city = CITIES[name]
    outline = next(d for d in read_districts(GEODATA) if d.level == "city" and d.city == name)
    minx, miny, maxx, maxy = outline.geometry.bounds
    bx = city.bbox
    assert bx[0] <= minx and bx[1] <= miny and bx[2] >= maxx and bx[3] >= maxy
    assert max(minx - bx[0], miny - bx[1], bx[2] - maxx, bx[3] - maxy) < 0.01  # and hugs them


def test_every_district_adcode_of_the_seed_exists(features):
    adcodes = {d.adcode: d for d in read_districts(GEODATA)}
    for f in features:
        p = f["properties"]
        assert adcodes[p["district_adcode"]].name == p["district"], p["id"]


def test_no_seed_site_claims_a_surveyed_location_or_verified_data(features):
    for f in features:
        p = f["properties"]
        assert p["location_precision"] != "surveyed" and p["data_status"] != "verified", p["id"]
        assert p["location_source"] and p["source"], p["id"]


def test_areas_are_polygons_and_buildings_points(features):
    for f in features:
        kind, geom = f["properties"]["kind"], shape(f["geometry"])
        assert (geom.geom_type in ("Polygon", "MultiPolygon")) == (kind == "area"), f["id"]


def test_unpublished_occupancy_is_labelled_sample():
    with open(GEODATA / "surveys.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if "not published" in row["source"] and "sample" in row["source"]:
                assert row["data_status"] == "sample", row
            if row["data_status"] == "reported":
                assert "http" in row["source"] or "报" in row["source"], row
