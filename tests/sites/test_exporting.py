"""sites.exporting: each format's shape, and round trips through sites.importing.

The inventory is tests/canonical.py (points and a polygon, six cities, a retired site,
surveys and units) in a real GeoPackage in tmp_path.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyogrio
import pytest
from openpyxl import load_workbook
from shapely.geometry import Point

from sites import exporting, importing
from sites.errors import ValidationError
from sites.query import build_query
from sites.stores import open_store
from tests import canonical

FORMATS = ["csv", "xlsx", "geojson", "gpkg"]


def snapshot(store) -> dict:
    return {s.id: (s, s.version, s.occupancy, store.surveys(s.id), store.units(s.id)) for s in store.all_sites()}


@pytest.fixture
def store(tmp_path):
    s = canonical.load(open_store(str(tmp_path / "inventory.gpkg"), create=True))
    yield s
    s.close()


def without_units(path: Path):
    """The canonical inventory without units: a table cannot carry units (only a GeoPackage can)."""
    s = open_store(str(path), create=True)
    with s.transaction() as tx:
        tx.today = canonical.TODAY
        for site in canonical.SITES:
            tx.put_site(site)
        for survey in canonical.SURVEYS:
            tx.put_survey(survey)
    return s


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


# --- the formats ---------------------------------------------------------------------------------------

def test_csv_has_a_bom_field_names_and_exact_positions(store, tmp_path):
    path = tmp_path / "sites.csv"
    assert exporting.export(store, None, path) == len(canonical.SITES)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    header, *rows = read_csv(path)
    assert header == [f.name for f in exporting.TABLE_COLUMNS]
    by_id = {r[0]: dict(zip(header, r)) for r in rows}
    a = by_id["qd-a"]
    assert (a["aliases"], a["industries"], a["in_historic_area"]) == ("老厂房", "集成电路;软件", "true")
    assert (a["lon"], a["lat"], a["wkt"], a["crs"]) == ("120.38", "36.07", "", "EPSG:4326")
    assert (a["vacancy_rate"], a["occupancy_basis"], a["survey_leasable_area_m2"]) == ("1", "survey", "4000")
    assert by_id["nj-h"]["wkt"].startswith("POLYGON ((118.82 32")  # polygons keep their shape
    assert by_id["qd-d"]["occupancy_basis"] == "units" and by_id["qd-d"]["survey_source"] == ""


def test_chinese_csv_has_chinese_headers_and_labels(store, tmp_path):
    path = tmp_path / "sites.csv"
    exporting.export(store, None, path, lang="zh")
    header, *rows = read_csv(path)
    assert header[:3] == ["编号", "名称", "英文名称"] and "建筑面积(㎡)" in header and header[-4:-2] == ["经度", "纬度"]
    a = dict(zip(header, next(r for r in rows if r[0] == "qd-a")))
    assert (a["状态"], a["类型"], a["位于历史城区"]) == ("闲置", "单体建筑", "是")


def test_xlsx_has_a_frozen_header_and_fitted_columns(store, tmp_path):
    path = tmp_path / "sites.xlsx"
    exporting.export(store, None, path, lang="zh")
    sheet = load_workbook(path).worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].value == "编号" and sheet.max_row == len(canonical.SITES) + 1
    widths = {sheet.cell(1, j).value: sheet.column_dimensions[sheet.cell(1, j).column_letter].width
              for j in range(1, sheet.max_column + 1)}
    assert widths["名称"] > widths["层数"] and max(widths.values()) <= 50
    row = {sheet.cell(1, j).value: sheet.cell(2, j).value for j in range(1, sheet.max_column + 1)}
    assert row["建筑面积(㎡)"] == 3000 and row["首次录入"].year == 2024  # numbers and dates as values (nb-i)


def test_xlsx_spills_long_wkt_over_extra_columns(tmp_path):
    big = Point(120.38, 36.07).buffer(0.05, 2000)  # 8,000 vertices: far beyond one Excel cell
    s = open_store(str(tmp_path / "big.gpkg"), create=True)
    with s.transaction() as tx:
        tx.put_site(canonical.SITES[0].replace(id="qd-round", geometry=big, kind="area"))
    exporting.export(s, None, tmp_path / "big.xlsx")
    header = [c.value for c in next(load_workbook(tmp_path / "big.xlsx", read_only=True).worksheets[0].rows)]
    spill = header[len(exporting.TABLE_COLUMNS):]
    assert len(spill) > 1 and spill == [f"wkt_{k}" for k in range(2, len(spill) + 2)]
    plan = importing.read(tmp_path / "big.xlsx")
    assert plan.errors == [] and plan.sites[0].geometry.equals_exact(big, 0)


def test_geojson_is_an_rfc7946_feature_collection(store, tmp_path):
    path = tmp_path / "sites.geojson"
    exporting.export(store, None, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and "crs" not in data
    features = {f["id"]: f for f in data["features"]}
    assert sorted(features) == sorted(s.id for s in canonical.SITES)
    a = features["qd-a"]
    assert a["geometry"] == {"type": "Point", "coordinates": [120.38, 36.07]}
    assert a["properties"]["vacancy_rate"] == 1 and a["properties"]["idle_area_m2"] == 4000
    assert a["properties"]["survey_source"] == "test" and a["properties"]["aliases"] == ["老厂房"]
    assert features["nj-h"]["geometry"]["type"] == "Polygon"


def test_geopackage_export_is_a_store(store, tmp_path):
    path = tmp_path / "export.gpkg"
    assert exporting.export(store, None, path) == len(canonical.SITES)
    copy = open_store(str(path))
    try:
        original, exported = snapshot(store), snapshot(copy)
        assert sorted(exported) == sorted(original)
        for site_id, (site, _, occupancy, surveys, units) in original.items():
            assert exported[site_id][0] == site.replace(version=1)
            assert exported[site_id][2:] == (occupancy, surveys, units)
        assert [d.adcode for d in copy.districts()] == [d.adcode for d in store.districts()]
    finally:
        copy.close()
    assert set(pyogrio.list_layers(path)[:, 0]) >= {"sites", "surveys", "units", "districts"}
    assert len(pyogrio.read_dataframe(path, layer="sites")) == len(canonical.SITES)


def test_export_follows_the_query(store, tmp_path):
    query = build_query({"city": "青岛市"})  # retired qd-f is left out by default
    assert exporting.export(store, query, tmp_path / "qd.geojson") == 5
    features = json.loads((tmp_path / "qd.geojson").read_text(encoding="utf-8"))["features"]
    assert [f["id"] for f in features] == ["qd-a", "qd-b", "qd-c", "qd-d", "qd-e"]


def test_unknown_format_is_refused(store, tmp_path):
    with pytest.raises(ValidationError, match="export format"):
        exporting.export(store, None, tmp_path / "sites.shp")
    with pytest.raises(ValidationError, match="language"):
        exporting.export(store, None, tmp_path / "sites.csv", lang="fr")


def test_a_failed_export_leaves_no_file(store, tmp_path):
    class Broken:
        def query(self, q):
            return store.query(q)

        def surveys(self, site_id):
            raise RuntimeError("disk gone")

    path = tmp_path / "sites.geojson"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        exporting.export(Broken(), None, path)
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


# --- round trips -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_reimporting_an_export_changes_nothing(store, tmp_path, fmt, lang):
    path = tmp_path / f"export.{fmt}"
    exporting.export(store, None, path, lang=lang)
    before = snapshot(store)
    plan = importing.read(path)
    assert plan.errors == [] and plan.ignored_columns == []
    assert importing.apply(store, plan) == importing.ImportResult(0, 0, len(canonical.SITES), 0, 0)
    assert snapshot(store) == before


def test_excel_precision_does_not_update_a_site(tmp_path):
    """Excel keeps 16 significant digits; a converted position often has 17."""
    s = open_store(str(tmp_path / "precise.gpkg"), create=True)
    with s.transaction() as tx:
        tx.put_site(canonical.SITES[0].replace(geometry=Point(120.38123456789012, 36.07098765432101)))
    exporting.export(s, None, tmp_path / "precise.xlsx")
    before = snapshot(s)
    assert importing.apply(s, importing.read(tmp_path / "precise.xlsx")) == importing.ImportResult(0, 0, 1, 0, 0)
    assert snapshot(s) == before
    s.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_export_import_export_gives_the_same_file(tmp_path, fmt, lang):
    first, second = tmp_path / f"first.{fmt}", tmp_path / f"second.{fmt}"
    original = without_units(tmp_path / "original.gpkg")
    exporting.export(original, None, first, lang=lang)
    fresh = open_store(str(tmp_path / "fresh.gpkg"), create=True)
    importing.apply(fresh, importing.read(first))
    exporting.export(fresh, None, second, lang=lang)
    assert second.read_bytes() == first.read_bytes()
    original.close()
    fresh.close()


def test_geopackage_export_imports_surveys_and_units_into_an_empty_store(store, tmp_path):
    exporting.export(store, None, tmp_path / "export.gpkg")
    plan = importing.read(tmp_path / "export.gpkg")
    assert plan.kinds == ["sites", "surveys", "units"]
    assert len(plan.surveys) == len(canonical.SURVEYS) and plan.units == canonical.UNITS
    fresh = open_store(str(tmp_path / "fresh.gpkg"), create=True)
    result = importing.apply(fresh, plan)
    assert result == importing.ImportResult(len(canonical.SITES), 0, 0, len(canonical.SURVEYS), 3)
    assert {k: v[2:] for k, v in snapshot(fresh).items()} == {k: v[2:] for k, v in snapshot(store).items()}
    fresh.close()
