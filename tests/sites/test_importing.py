"""sites.importing: formats and encodings, headers, positions and coordinate systems, mappings,
bad rows, all-or-nothing writes (a killed process included) and templates.

Text fixtures are in tests/data (see its README); XLSX, GeoPackage and large files are
written into tmp_path by the tests.  Stores are real GeoPackages in tmp_path.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pyogrio
import pyproj
import pytest

from sites import chinacrs, importing, schema
from sites.errors import ImportRowsError, ValidationError
from sites.stores import open_store

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
GEOD = pyproj.Geod(ellps="WGS84")
BNG = pyproj.Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def metres(lon1, lat1, lon2, lat2) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def new_store(tmp_path: Path, name: str = "inventory.gpkg"):
    return open_store(str(tmp_path / name), create=True)


def load(store, *names: str):
    for name in names:
        importing.apply(store, importing.read(DATA / name))
    return store


def snapshot(store) -> dict:
    """Everything a store holds about its sites, versions included."""
    return {s.id: (s, s.version, s.occupancy, store.surveys(s.id), store.units(s.id)) for s in store.all_sites()}


def csv_rows(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(rows)
    return path


def edited(tmp_path: Path, changes: dict[tuple[int, str], str], name: str = "edited.csv") -> Path:
    """sites_en.csv with cells changed: {(row as Excel shows it, column header): new text}."""
    rows = csv_rows(DATA / "sites_en.csv")
    for (row, column), value in changes.items():
        rows[row - 1][rows[0].index(column)] = value
    return write_csv(tmp_path / name, rows)


@pytest.fixture
def store(tmp_path):
    s = load(new_store(tmp_path), "sites_en.csv", "sites.geojson", "surveys.csv", "units.csv")
    yield s
    s.close()


# --- formats and encodings ------------------------------------------------------------------------

def test_gbk_csv_with_chinese_headers_converts_gcj02_to_wgs84():
    raw = (DATA / "sites_zh_gbk.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is GBK
    rows = list(csv.DictReader(io.StringIO(raw.decode("gbk"))))
    plan = importing.read(DATA / "sites_zh_gbk.csv")
    assert plan.errors == [] and plan.ignored_columns == []
    assert [s.id for s in plan.sites] == [r["编号"] for r in rows]
    for row, site in zip(rows, plan.sites):
        gcj = float(row["经度"]), float(row["纬度"])
        expected = chinacrs.gcj02_to_wgs84(*gcj)
        assert metres(site.lon, site.lat, *expected) < 1
        assert metres(site.lon, site.lat, *gcj) > 200  # the GCJ-02 offset was removed, not kept


def test_chinese_headers_labels_and_units_are_understood():
    a = importing.read(DATA / "sites_zh_gbk.csv").sites[0]
    assert (a.name_zh, a.city, a.kind, a.location_precision, a.status, a.data_status) == \
        ("测试园区甲", "青岛市", "complex", "street", "partly_idle", "sample")
    assert (a.gross_floor_area_m2, a.leasable_area_m2, a.rent_cny_per_m2_day) == (12000, 9000, 2.5)


def test_missing_dates_default_to_today():
    site = importing.read(DATA / "sites_zh_gbk.csv", today=date(2026, 1, 5)).sites[0]
    assert (site.first_added, site.last_updated) == (date(2026, 1, 5), date(2026, 1, 5))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_encodings_read_alike(tmp_path, encoding):
    rows = csv_rows(DATA / "sites_en.csv")
    plan = importing.read(write_csv(tmp_path / "sites.csv", rows, encoding))
    reference = importing.read(DATA / "sites_en.csv")
    assert plan.errors == []
    assert plan.sites == reference.sites and plan.surveys == reference.surveys


def test_semicolon_separated_csv(tmp_path):
    path = tmp_path / "semicolon.csv"
    with open(path, "w", encoding="utf-8", newline="") as out:
        csv.writer(out, delimiter=";").writerows(csv_rows(DATA / "sites_en.csv"))
    assert [s.id for s in importing.read(path).sites] == ["qd-en-alpha", "qd-en-beta", "qd-en-gamma"]


def _xlsx_from_csv(path: Path, rows: list[list[str]], sheet: str = "登记表"):
    """Sites_en.csv as a planner's workbook: a notes sheet first, typed cells, a blank row."""
    from openpyxl import Workbook
    book = Workbook()
    book.active.title = "说明"
    book.active.append(["说明", "本表为测试数据"])
    ws = book.create_sheet(sheet)
    ws.append(rows[0])
    for k, row in enumerate(rows[1:]):
        cells = []
        for text in row:
            try:
                cells.append(datetime.fromisoformat(text) if text.count("-") == 2 else float(text))
            except ValueError:
                cells.append(text or None)
        ws.append(cells)
        if k == 0:
            ws.append([None] * len(row))  # a blank row is skipped, and row numbers stay the sheet's
    book.save(path)
    return path


def test_xlsx_sheet_with_typed_cells_reads_like_the_csv(tmp_path):
    path = _xlsx_from_csv(tmp_path / "sites.xlsx", csv_rows(DATA / "sites_en.csv"))
    plan = importing.read(path, sheet="登记表")
    reference = importing.read(DATA / "sites_en.csv")
    assert plan.errors == []
    assert plan.sites == reference.sites and plan.surveys == reference.surveys
    assert plan.site_rows == {"qd-en-alpha": 2, "qd-en-beta": 4, "qd-en-gamma": 5}


def test_xlsx_reads_the_first_sheet_unless_told(tmp_path):
    path = _xlsx_from_csv(tmp_path / "sites.xlsx", csv_rows(DATA / "sites_en.csv"))
    with pytest.raises(ValidationError, match="no column for id"):
        importing.read(path)  # the notes sheet
    with pytest.raises(ValidationError, match="no sheet 'Sheet9'"):
        importing.read(path, sheet="Sheet9")


def test_geojson_features_keep_their_geometry_and_id():
    plan = importing.read(DATA / "sites.geojson")
    assert plan.errors == []
    dock, zone = plan.sites
    assert dock.id == "qd-geo-dock" and dock.aliases == ("老仓库", "3号库") and dock.in_historic_area is True
    assert zone.geometry.geom_type == "Polygon" and zone.geometry.bounds == (120.40, 36.10, 120.44, 36.13)


def test_foreign_geopackage_layer_is_reprojected(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point
    lonlat = [(120.3801, 36.0668), (120.4262, 36.1601)]
    frame = gpd.GeoDataFrame(
        {"编号": ["qd-pkg-1", "qd-pkg-2"], "名称": ["甲", "乙"], "城市": ["青岛市"] * 2, "类型": ["单体建筑"] * 2,
         "位置精度": ["建筑级"] * 2, "状态": ["闲置"] * 2, "数据状态": ["示例数据"] * 2, "备注": ["x", "y"]},
        geometry=[Point(p) for p in lonlat], crs="EPSG:4326").to_crs("EPSG:3857")
    path = tmp_path / "parks.gpkg"
    frame.to_file(path, layer="parks", driver="GPKG")
    plan = importing.read(path)
    assert plan.errors == [] and plan.ignored_columns == ["备注"]
    for site, (lon, lat) in zip(plan.sites, lonlat):
        assert (site.lon, site.lat) == pytest.approx((lon, lat), abs=1e-9)


def test_surveys_and_units_files_are_told_from_their_columns():
    surveys = importing.read(DATA / "surveys.csv")
    assert surveys.kinds == ["surveys"] and surveys.sites == [] and len(surveys.surveys) == 3
    tenants_only = surveys.surveys[2]  # a published tenant count without areas is still a survey
    assert (tenants_only.leasable_area_m2, tenants_only.occupied_area_m2, tenants_only.tenant_count) == (None, None, 2)
    units = importing.read(DATA / "units.csv")
    assert units.kinds == ["units"] and [len(v) for v in units.units.values()] == [4]


def test_a_surveys_file_of_tenant_counts_only(tmp_path):
    path = write_csv(tmp_path / "tenants.csv", [["编号", "调查日期", "入驻企业数", "数据状态"],
                                                 ["qd-en-alpha", "2025-01-31", "9", "reported"]])
    plan = importing.read(path)
    assert plan.kinds == ["surveys"] and plan.surveys[0].tenant_count == 9


def test_a_site_row_carries_its_current_survey():
    plan = importing.read(DATA / "sites_en.csv")
    alpha = plan.surveys[0]
    assert (alpha.site_id, alpha.survey_date, alpha.leasable_area_m2, alpha.occupied_area_m2, alpha.tenant_count) == \
        ("qd-en-alpha", date(2025, 6, 30), 9000, 6000, 12)
    assert (alpha.source, alpha.data_status) == ("made-up test record", "sample")  # the row's
    assert [s.site_id for s in plan.surveys] == ["qd-en-alpha", "qd-en-gamma"]  # beta has none


def test_a_units_based_row_gives_no_survey(tmp_path):
    rows = csv_rows(DATA / "sites_en.csv")
    rows[0].append("occupancy_basis")
    for row in rows[1:]:
        row.append("units")
    assert importing.read(write_csv(tmp_path / "units_basis.csv", rows)).surveys == []


def test_unknown_columns_are_ignored_and_reported(tmp_path):
    rows = csv_rows(DATA / "sites_en.csv")
    rows[0] += ["备注", "vacancy_rate"]  # vacancy_rate is derived: ignored without a word
    for row in rows[1:]:
        row += ["随便", "0.5"]
    plan = importing.read(write_csv(tmp_path / "extra.csv", rows))
    assert plan.errors == [] and plan.ignored_columns == ["备注"]


def test_progress_is_reported_up_to_the_total():
    seen = []
    importing.read(DATA / "sites_en.csv", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3, 3)


# --- bad rows ---------------------------------------------------------------------------------------

BAD_ROWS = [
    ({(2, "occupied_area_m2"): "9500"}, 2, "occupied_area_m2"),  # more than the 9000 m² leasable
    ({(3, "lon"): "108.94", (3, "lat"): "34.34"}, 3, "geometry"),  # Xi'an, but the city says 青岛市
    ({(4, "status"): "demolished"}, 4, "status"),
    ({(4, "data_status"): ""}, 4, "data_status"),
    ({(3, "lat"): ""}, 3, "lat"),
    ({(2, "survey_date"): "2099-01-01"}, 2, "survey_date"),
]


@pytest.mark.parametrize("changes, row, field", BAD_ROWS)
def test_a_bad_row_is_named_and_nothing_is_written(store, tmp_path, changes, row, field):
    before = snapshot(store)
    plan = importing.read(edited(tmp_path, changes))
    assert [(e.row, e.field) for e in plan.errors] == [(row, field)]
    assert f"row {row}" in str(plan.errors[0])
    with pytest.raises(ImportRowsError) as caught:
        importing.apply(store, plan)
    assert caught.value.errors == plan.errors and caught.value.total_rows == 3
    assert snapshot(store) == before


def test_every_bad_row_is_reported(tmp_path):
    plan = importing.read(edited(tmp_path, {(2, "status"): "gone", (4, "kind"): "tower", (3, "year_built"): "old"}))
    assert [(e.row, e.field) for e in plan.errors] == [(2, "status"), (3, "year_built"), (4, "kind")]


def test_duplicate_ids_name_both_rows(tmp_path):
    plan = importing.read(edited(tmp_path, {(4, "id"): "qd-en-alpha"}))
    assert len(plan.errors) == 1
    error = plan.errors[0]
    assert (error.row, error.field) == (4, "id") and "rows 2 and 4" in str(error)


def test_data_status_is_never_guessed(tmp_path):
    rows = [row[:9] + row[10:] for row in csv_rows(DATA / "sites_en.csv")]  # drop data_status
    path = write_csv(tmp_path / "no_status.csv", rows)
    with pytest.raises(ValidationError, match="no column for data_status") as caught:
        importing.read(path)
    assert caught.value.field == "data_status"
    plan = importing.read(path, mapping={"=data_status": "reported"})
    assert {s.data_status for s in plan.sites} == {"reported"}


def test_a_record_refused_while_writing_leaves_the_store_unchanged(store, tmp_path):
    """Surveys of sites already in the store are checked against them only when writing."""
    path = write_csv(tmp_path / "surveys.csv", [
        ["site_id", "survey_date", "leasable_area_m2", "occupied_area_m2", "tenant_count", "source", "data_status"],
        ["qd-en-alpha", "2026-01-31", "9000", "8000", "20", "test", "sample"],
        ["qd-en-gamma", "2026-01-31", "20000", "1000", "4", "test", "sample"],  # gross floor area is 8000
    ])
    plan = importing.read(path)
    assert plan.errors == []
    before = snapshot(store)
    with pytest.raises(ImportRowsError) as caught:
        importing.apply(store, plan)
    [error] = caught.value.errors
    assert (error.row, error.field, error.site_id) == (3, "leasable_area_m2", "qd-en-gamma")
    assert snapshot(store) == before


def test_surveys_of_an_unknown_site_are_refused(store, tmp_path):
    path = write_csv(tmp_path / "surveys.csv", [
        ["site_id", "survey_date", "occupied_area_m2", "leasable_area_m2", "data_status"],
        ["qd-nowhere", "2026-01-31", "1", "2", "sample"],
    ])
    with pytest.raises(ImportRowsError, match="row 2"):
        importing.apply(store, importing.read(path))


# --- writing ----------------------------------------------------------------------------------------

def test_first_import_creates_then_reimport_changes_nothing(tmp_path):
    store = new_store(tmp_path)
    plan = importing.read(DATA / "sites_en.csv")
    assert importing.apply(store, plan) == importing.ImportResult(3, 0, 0, 2, 0)
    assert importing.apply(store, plan) == importing.ImportResult(0, 0, 3, 0, 0)
    assert importing.apply(store, importing.read(DATA / "units.csv")) == importing.ImportResult(0, 0, 0, 0, 4)
    assert store.get("qd-en-beta").occupancy_basis == "units"


def test_reimport_updates_by_id(store, tmp_path):
    before = snapshot(store)
    plan = importing.read(edited(tmp_path, {(3, "name_en"): "Beta Tower (renamed)"}))
    assert importing.apply(store, plan) == importing.ImportResult(0, 1, 2, 0, 0)
    after = snapshot(store)
    assert sorted(after) == sorted(before)  # no duplicate
    assert store.get("qd-en-beta").name_en == "Beta Tower (renamed)"
    assert store.get("qd-en-beta").version == before["qd-en-beta"][1] + 1
    del after["qd-en-beta"], before["qd-en-beta"]
    assert after == before


KILL_SCRIPT = """
import sys
from sites import importing
from sites.stores import open_store

plan = importing.read(sys.argv[1])
store = open_store(sys.argv[2])
told = False

def progress(done, total):
    global told
    if not told and done > total / 2:
        told = True
        print("HALF", flush=True)

importing.apply(store, plan, progress=progress)
print("DONE", flush=True)
"""


def test_a_killed_import_leaves_the_store_unchanged(store, tmp_path):
    rows = [["id", "name_zh", "city", "kind", "location_precision", "status", "data_status", "lon", "lat"]]
    rows += [[f"qd-bulk-{i}", f"批量{i}", "青岛市", "building", "street", "idle", "sample",
              f"{120.30 + (i % 1000) * 1e-4:.6f}", f"{36.05 + (i // 1000) * 1e-3:.6f}"] for i in range(20_000)]
    big = write_csv(tmp_path / "bulk.csv", rows)
    before = snapshot(store)
    db = Path(store.url)
    store.close()
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(big), str(db)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "HALF"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert Path(f"{db}-journal").exists()  # killed inside the transaction
    reopened = open_store(str(db))
    try:
        assert snapshot(reopened) == before
    finally:
        reopened.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(pyogrio.read_dataframe(db, layer="sites")["id"]) == sorted(before)


# --- positions and coordinate systems ----------------------------------------------------------------

def test_per_row_crs_column_beats_the_argument(tmp_path):
    rows = csv_rows(DATA / "sites_en.csv")
    rows[0].append("坐标系")
    for row, crs in zip(rows[1:], ["GCJ-02", "BD-09", ""]):
        row.append(crs)
    plan = importing.read(write_csv(tmp_path / "mixed.csv", rows), crs="GCJ-02")
    lon, lat = rows[0].index("lon"), rows[0].index("lat")
    raw = [(float(r[lon]), float(r[lat])) for r in rows[1:]]
    expected = [chinacrs.gcj02_to_wgs84(*raw[0]), chinacrs.bd09_to_wgs84(*raw[1]), chinacrs.gcj02_to_wgs84(*raw[2])]
    for site, (lon, lat) in zip(plan.sites, expected):
        assert (site.lon, site.lat) == pytest.approx((lon, lat), abs=1e-9)


def test_file_geometries_are_converted_too():
    """Every vertex of a GeoJSON polygon, not just points, is moved out of GCJ-02."""
    wgs = importing.read(DATA / "sites.geojson").sites[1].geometry
    moved = importing.read(DATA / "sites.geojson", crs="GCJ-02").sites[1].geometry
    xs, ys = chinacrs.gcj02_to_wgs84([x for x, _ in wgs.exterior.coords], [y for _, y in wgs.exterior.coords])
    assert [c for xy in moved.exterior.coords for c in xy] == pytest.approx(
        [c for xy in zip(xs, ys) for c in xy], abs=1e-12)
    assert moved.centroid.distance(wgs.centroid) > 0.003  # hundreds of metres


def test_wkt_column_gives_polygons(tmp_path):
    path = write_csv(tmp_path / "wkt.csv", [
        ["id", "name_zh", "city", "kind", "location_precision", "status", "data_status", "wkt"],
        ["qd-wkt", "片区", "青岛市", "area", "district", "planned", "sample",
         "POLYGON ((120.4 36.1, 120.44 36.1, 120.44 36.13, 120.4 36.1))"],
        ["qd-bad-wkt", "片区", "青岛市", "area", "district", "planned", "sample", "POLYGON ((120.4"],
    ])
    plan = importing.read(path)
    assert plan.sites[0].geometry.geom_type == "Polygon"
    assert [(e.row, e.field) for e in plan.errors] == [(3, "wkt")]


def test_a_row_without_a_position_is_reported(tmp_path):
    plan = importing.read(edited(tmp_path, {(2, "lon"): "", (2, "lat"): ""}))
    assert [(e.row, e.field) for e in plan.errors] == [(2, "geometry")]


def test_projected_coordinates_need_a_crs(tmp_path):
    path = write_csv(tmp_path / "xy.csv", [
        ["id", "name_zh", "city", "kind", "location_precision", "status", "data_status", "x", "y"],
        ["uk-1", "Hanley", "Stoke-on-Trent", "building", "street", "idle", "sample", "388309.18", "344107.34"],
    ])
    with pytest.raises(ValidationError, match="projected") as caught:
        importing.read(path)
    assert caught.value.field == "crs"
    site = importing.read(path, crs="EPSG:27700").sites[0]
    assert (site.lon, site.lat) == pytest.approx(BNG.transform(388309.18, 344107.34), abs=1e-9)


# --- mappings --------------------------------------------------------------------------------------

REGISTER = [
    ["Ref", "Name", "Easting", "Northing", "Planning", "Added", "Hectares"],
    ["A 1", "Old Mill", "388309.18", "344107.34", "Permissioned ", "2019-09-26", "0.12"],
    ["B/2", "Canal Wharf", "387000", "346000", "NOT  permissioned", "2020-04-01", "1.5"],
]
MAPPING = {
    "#": "a made-up UK-style register",
    "Ref": "id", "Name": ["name_zh", "address_zh"], "Easting": "x", "Northing": "y", "Planning": "status",
    "Added": "first_added", "Hectares": None,
    "=city": "Stoke-on-Trent", "=kind": "complex", "=location_precision": "building", "=data_status": "reported",
    "status:permissioned": "planned", "status:not permissioned": "idle",
    "@crs": "EPSG:27700", "@id_slug": True, "@id_prefix": "uk-",
}


def test_mapping_renames_translates_and_fills(tmp_path):
    plan = importing.read(write_csv(tmp_path / "register.csv", REGISTER), mapping=MAPPING)
    assert plan.errors == [] and plan.ignored_columns == []
    mill, wharf = plan.sites
    assert (mill.id, wharf.id) == ("uk-a-1", "uk-b-2")
    assert (mill.status, wharf.status) == ("planned", "idle")  # despite case and spaces
    assert (mill.name_zh, mill.address_zh, mill.city, mill.data_status) == \
        ("Old Mill", "Old Mill", "Stoke-on-Trent", "reported")
    assert mill.first_added == date(2019, 9, 26)
    assert (mill.lon, mill.lat) == pytest.approx(BNG.transform(388309.18, 344107.34), abs=1e-9)


def test_mapping_files_json_yaml_and_csv_agree(tmp_path):
    import yaml
    register = write_csv(tmp_path / "register.csv", REGISTER)
    (tmp_path / "m.json").write_text(json.dumps(MAPPING), encoding="utf-8")
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(MAPPING, allow_unicode=True), encoding="utf-8")
    entries = [["source", "field"]]
    for key, value in MAPPING.items():
        for target in value if isinstance(value, list) else [value]:
            entries.append([key, "" if target is None else str(target).lower() if isinstance(target, bool) else target])
    write_csv(tmp_path / "m.csv", entries)
    reference = importing.read(register, mapping=MAPPING).sites
    for name in ("m.json", "m.yaml", "m.csv"):
        assert importing.read(register, mapping=tmp_path / name).sites == reference, name


@pytest.mark.parametrize("mapping, message", [
    ({"Ref": "identifier"}, "mapping entry 'Ref': 'identifier' is not a field"),
    ({"GeoX": "x"}, "names column.*geox"),
    ({"=colour": "red"}, "mapping entry '=colour'"),
    ({"=status": "demolished"}, "mapping entry '=status'"),
    ({"@order": "latlon"}, "unknown option"),
    ({"@crs": "EPSG:999999"}, "mapping entry '@crs'"),
])
def test_bad_mapping_entries_are_named(tmp_path, mapping, message):
    register = write_csv(tmp_path / "register.csv", REGISTER)
    with pytest.raises(ValidationError, match=message):
        importing.read(register, mapping={**MAPPING, **mapping})


def test_packed_location_needs_its_order(tmp_path):
    path = write_csv(tmp_path / "packed.csv", [
        ["id", "name_zh", "city", "kind", "location_precision", "status", "data_status", "location"],
        ["us-1", "2041 W NORTH AVE", "Baltimore", "building", "building", "idle", "reported",
         "(39.30941765, -76.65104057)"],
    ])
    with pytest.raises(ValidationError, match="location_order"):
        importing.read(path)
    site = importing.read(path, mapping={"@location_order": "latlon"}).sites[0]
    assert (site.lon, site.lat) == (-76.65104057, 39.30941765)
    swapped = importing.read(path, mapping={"@location_order": "lonlat"}).sites[0]
    assert (swapped.lon, swapped.lat) == (39.30941765, -76.65104057)  # why the order must be said


# --- templates --------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_template_reads_back_as_its_example_row(tmp_path, lang, suffix):
    path = tmp_path / f"template{suffix}"
    importing.write_template(path, lang)
    plan = importing.read(path)
    assert plan.errors == [] and plan.ignored_columns == [] and plan.surveys == []
    [site] = plan.sites
    example = importing.TEMPLATE_EXAMPLE
    for f in schema.STORED:
        if f.name != "version":
            assert getattr(site, f.name) == example[f.name], f.name
    assert (site.lon, site.lat) == (example["lon"], example["lat"])


def test_template_headers():
    zh, en = importing.template("zh"), importing.template("en")
    assert "建筑面积(㎡)" in zh and "租金(元/㎡·天)" in zh and zh[-3:] == ["经度", "纬度", "坐标系"]
    assert en[:2] == ["id", "name_zh"] and en[-3:] == ["lon", "lat", "crs"]
    assert "version" not in en and "vacancy_rate" not in en


def test_template_csv_has_a_bom_for_excel(tmp_path):
    importing.write_template(tmp_path / "t.csv", "zh")
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw[3:].decode("utf-8").startswith("编号,名称")


def test_accepted_headers_cover_every_writable_field():
    headers = importing.accepted_headers()
    assert "建筑面积(㎡)" in headers["gross_floor_area_m2"] and "经度" in headers["lon"]
    assert {f.name for f in schema.STORED if f.name != "version"} <= set(headers)
    assert "floor" in importing.accepted_headers("units")
