"""Real registers from outside China, imported through the mappings in tests/data.

- Stoke-on-Trent brownfield register 2024 (CSV and XLSX): British National Grid (EPSG:27700)
  GeoX/GeoY, messy category text, one GeoX outlier about 40 km west of the rest.
- Baltimore vacant building notices (2019-02): 16,747 rows, WGS-84 packed as "(lat, lon)".

The files live in ../shared/data/external/vacancy (see SOURCES.md there); the tests skip
when that folder is absent.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyproj
import pytest

from sites import importing
from sites.stores import open_store

EXTERNAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "external"
VACANCY = EXTERNAL / "vacancy"
DATA = Path(__file__).resolve().parents[1] / "data"
STOKE_MAPPING = DATA / "stoke_brownfield_mapping.json"
BALTIMORE_MAPPING = DATA / "baltimore_vacants_mapping.json"
STOKE = (-2.18, 53.02)  # lon, lat of the city centre
GEOD = pyproj.Geod(ellps="WGS84")
BNG = pyproj.Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def register(name: str) -> Path:
    path = VACANCY / name
    if not path.exists():
        pytest.skip(f"external register absent: {path} (../shared/data/external is not available here)")
    return path


def km_from_stoke(site) -> float:
    return GEOD.inv(site.lon, site.lat, *STOKE)[2] / 1000


def stoke_rows() -> list[dict]:
    with open(register("stoke_on_trent_brownfield_register_2024.csv"), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(params=["csv", "xlsx"])
def stoke_plan(request):
    return importing.read(register(f"stoke_on_trent_brownfield_register_2024.{request.param}"),
                          mapping=STOKE_MAPPING)


def test_stoke_register_imports_every_row(stoke_plan):
    assert stoke_plan.errors == []
    assert len(stoke_plan.sites) == stoke_plan.total_rows == len(stoke_rows()) == 218
    assert {s.city for s in stoke_plan.sites} == {"Stoke-on-Trent"}
    assert "Hectares" in stoke_plan.ignored_columns


def test_stoke_positions_are_british_national_grid(stoke_plan):
    rows = {f"sot-{r['SiteReference']}": r for r in stoke_rows()}
    for site in stoke_plan.sites:
        expected = BNG.transform(float(rows[site.id]["GeoX"]), float(rows[site.id]["GeoY"]))
        assert (site.lon, site.lat) == pytest.approx(expected, abs=1e-9)
    far = {s.id for s in stoke_plan.sites if km_from_stoke(s) > 15}
    assert far == {"sot-68349"}  # the GeoX outlier, 347655
    assert all(-2.3 < s.lon < -2.05 and 52.9 < s.lat < 53.15 for s in stoke_plan.sites if s.id not in far)


def test_stoke_messy_planning_status_is_translated(stoke_plan):
    expected = {f"sot-{r['SiteReference']}": "idle" if r["PlanningStatus"].strip() == "not permissioned" else "planned"
                for r in stoke_rows()}
    assert {s.id: s.status for s in stoke_plan.sites} == expected
    assert sum(r["PlanningStatus"] != r["PlanningStatus"].strip() for r in stoke_rows()) > 0  # really messy


def test_stoke_register_dates_that_contradict_each_other_are_reported():
    path = register("stoke_on_trent_brownfield_register_2024.csv")
    plan = importing.read(path, mapping={**_json(STOKE_MAPPING), "LastUpdatedDate": "last_updated"})
    assert [(e.row, e.field) for e in plan.errors] == [(31, "last_updated"), (103, "last_updated")]


def test_stoke_register_goes_into_a_store_once(stoke_plan, tmp_path):
    store = open_store(str(tmp_path / "inventory.gpkg"), create=True)
    try:
        assert importing.apply(store, stoke_plan) == importing.ImportResult(218, 0, 0, 0, 0)
        assert importing.apply(store, stoke_plan) == importing.ImportResult(0, 0, 218, 0, 0)
    finally:
        store.close()


def test_baltimore_notices_import_with_packed_lat_lon():
    path = register("baltimore_vacant_building_notices_2019-02.csv")
    plan = importing.read(path, mapping=BALTIMORE_MAPPING)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert plan.errors == []
    assert len(plan.sites) == len(rows) == 16_747
    sites = {s.id: s for s in plan.sites}
    for reference in ("0001 003 012512", "6550A020 041618"):
        row = next(r for r in rows if r["referenceid"] == reference)
        lat, lon = (float(v) for v in row["location"].strip("()").split(","))
        site = sites["bmore-" + reference.lower().replace(" ", "-")]
        assert (site.lon, site.lat) == (lon, lat)
        assert site.name_zh == row["buildingaddress"] and site.vacant_since.isoformat() == row["noticedate"][:10]
    first = sites["bmore-0001-003-012512"]
    assert (first.lon, first.lat, first.district, first.status) == (-76.65104057, 39.30941765, "EASTERWOOD", "idle")


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
