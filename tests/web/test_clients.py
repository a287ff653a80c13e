"""Real clients read the API unchanged: OWSLib's OGC API Features client and GDAL's
OAPIF driver (through pyogrio).  Both must return exactly what the store holds."""

from urllib.parse import unquote

import pyogrio
import pytest
from owslib.ogcapi.features import Features

from sites.query import build_query


def requests_seen(live_server) -> list[str]:
    from tests.web.liveserver import log_path
    return log_path(live_server).read_text().splitlines()


def store_ids(app, **params):
    store = app.extensions["get_store"]()
    return sorted(s.id for s in store.query(build_query(params, district_geometry=store.district_geometry)).sites)


def test_owslib_lists_collections_and_reads_items(live_server, app):
    api = Features(live_server)
    assert {c["id"] for c in api.collections()["collections"]} == {"sites", "districts"}
    items = api.collection_items("sites", limit=100)
    assert sorted(f["id"] for f in items["features"]) == store_ids(app)
    assert items["numberMatched"] == len(store_ids(app))


def test_owslib_bbox_and_cql2_filter(live_server, app):
    api = Features(live_server)
    items = api.collection_items("sites", bbox=[120.3, 36.0, 120.4, 36.1],
                                 filter="vacancy_rate >= 0.3 AND city = '青岛市'")
    assert sorted(f["id"] for f in items["features"]) == store_ids(
        app, bbox="120.3,36.0,120.4,36.1", filter="vacancy_rate >= 0.3 AND city = '青岛市'") == ["qd-a", "qd-d"]
    assert items["features"][0]["properties"]["name_zh"] in ("海聊制衣厂旧址", "北岭大楼")


def test_owslib_queryables(live_server):
    q = Features(live_server).collection_queryables("sites")
    assert "vacancy_rate" in q["properties"]


def gdal_read(live_server, **kw):
    return pyogrio.read_dataframe(f"OAPIF:{live_server}", layer="sites", **kw)


def test_gdal_reads_every_site_across_pages(live_server, app):
    df = pyogrio.read_dataframe(f"OAPIF:{live_server}", layer="sites", PAGE_SIZE="3")
    assert sorted(df["id"]) == store_ids(app)
    assert set(df["name_zh"]) >= {"海聊制衣厂旧址", "倍格硅谷", "秦淮硅巷"}
    assert df.crs.to_string() == "OGC:CRS84"
    assert sum("/collections/sites/items?" in line for line in requests_seen(live_server)) >= 3  # paged


def test_gdal_bbox(live_server, app):
    df = gdal_read(live_server, bbox=(120.3, 36.0, 120.4, 36.1))
    assert sorted(df["id"]) == store_ids(app, bbox="120.3,36.0,120.4,36.1")


@pytest.mark.parametrize("where,cql", [
    ("status = 'operating'", "status = 'operating'"),
    ("city = '青岛市' AND vacancy_rate >= 0.3", "city = '青岛市' AND vacancy_rate >= 0.3"),
    ("name_zh LIKE '%硅%'", "name_zh LIKE '%硅%'"),
    ("gross_floor_area_m2 > 5000", "gross_floor_area_m2 > 5000"),
])
def test_gdal_pushes_where_down_and_gets_what_the_store_returns(live_server, app, where, cql):
    df = gdal_read(live_server, where=where, PAGE_SIZE="2")
    assert sorted(df["id"]) == store_ids(app, filter=cql)
    assert any("filter=" in line and "filter-lang=cql-text" in line for line in requests_seen(live_server))


def test_gdal_case_insensitive_like_is_pushed_down(live_server, app):
    df = gdal_read(live_server, where="name_en ILIKE '%PARK%'")
    assert sorted(df["id"]) == ["qd-c"]
    assert any("ILIKE" in unquote(line) for line in requests_seen(live_server))


def test_gdal_date_comparison(live_server, app):
    df = gdal_read(live_server, where="survey_date > '2024-06-01'")
    assert sorted(df["id"]) == store_ids(app, filter="survey_date > DATE('2024-06-01')") == ["qd-d", "xa-g"]


def test_gdal_reads_one_feature_by_id(live_server):
    df = gdal_read(live_server, where="id = 'qd-b'")
    assert list(df["name_zh"]) == ["春峰里"]
