"""The OGC API through Flask's test client: resources, paging, formats, errors."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sites.test_query_table import CASES


def get_json(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, r.get_data(as_text=True)
    return r.get_json()


def test_landing_page_links_every_required_resource(client):
    rels = {link["rel"]: link for link in get_json(client, "/")["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"


def test_browsers_get_the_app_page_at_the_root(client):
    r = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.mimetype == "text/html"
    assert client.get("/", headers={"Accept": "*/*"}).mimetype == "application/json"


def test_conformance_declares_core_geojson_and_cql2(client):
    classes = get_json(client, "/conformance")["conformsTo"]
    for c in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
              "ogcapi-features-3/1.0/conf/filter", "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json",
              "cql2/1.0/conf/advanced-comparison-operators", "cql2/1.0/conf/basic-spatial-functions"):
        assert any(x.endswith(c) for x in classes), c


def test_collection_has_extent_crs_and_queryables_link(client):
    c = get_json(client, "/collections/sites")
    minx, miny, maxx, maxy = c["extent"]["spatial"]["bbox"][0]
    assert minx <= 108.94 and maxx >= 121.55 and miny <= 29.87 and maxy >= 36.16
    assert c["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    assert {"queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables"} <= {link["rel"] for link in c["links"]}


def test_queryables_are_json_schema_and_the_legacy_list(client):
    r = client.get("/collections/sites/queryables", headers={"Accept": "application/schema+json"})
    assert r.mimetype == "application/schema+json"
    q = r.get_json()
    assert q["properties"]["status"]["enum"][:2] == ["idle", "partly_idle"]
    assert q["properties"]["vacancy_rate"]["type"] == "number"
    assert {"id": "survey_date", "queryable": "survey_date", "type": "date"} in q["queryables"]


def test_queryables_are_plain_json_for_clients_that_ask_for_json(client):
    """GDAL asks with 'application/geo+json, application/json' and rejects schema+json."""
    r = client.get("/collections/sites/queryables", headers={"Accept": "application/geo+json, application/json"})
    assert r.mimetype == "application/json"


def test_feature_schema_types_every_property(client):
    s = get_json(client, "/collections/sites/schema")
    props = s["properties"]["properties"]["properties"]
    assert props["survey_date"] == {**props["survey_date"], "type": "string", "format": "date"}
    assert props["aliases"]["type"] == "array" and props["vacancy_rate"]["type"] == "number"


def test_items_are_geojson_with_counts(client):
    r = client.get("/collections/sites/items")
    assert r.mimetype == "application/geo+json"
    fc = r.get_json()
    assert (fc["type"], fc["numberMatched"], fc["numberReturned"]) == ("FeatureCollection", 8, 8)
    feature = next(f for f in fc["features"] if f["id"] == "qd-b")
    assert feature["properties"]["vacancy_rate"] == 0.25
    assert feature["geometry"] == {"type": "Point", "coordinates": [120.36, 36.06]}


def test_paging_links_are_typed_and_percent_encoded(client):
    fc = get_json(client, "/collections/sites/items?limit=2&city=青岛市&sortby=-vacancy_rate")
    links = {link["rel"]: link for link in fc["links"]}
    assert "prev" not in links
    nxt = links["next"]
    assert nxt["type"] == "application/geo+json"
    assert "%E9%9D%92%E5%B2%9B%E5%B8%82" in nxt["href"] and "+" not in nxt["href"]
    query = parse_qs(urlsplit(nxt["href"]).query)
    assert (query["offset"], query["limit"], query["city"]) == (["2"], ["2"], ["青岛市"])
    second = get_json(client, nxt["href"])
    assert [f["id"] for f in second["features"]] == ["qd-b", "qd-c"]
    assert "prev" in {link["rel"] for link in second["links"]}


def test_walking_next_links_returns_every_site_once(client):
    url, seen = "/collections/sites/items?limit=3", []
    while url:
        fc = get_json(client, url)
        seen += [f["id"] for f in fc["features"]]
        url = next((link["href"] for link in fc["links"] if link["rel"] == "next"), None)
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 8


def test_properties_subset(client):
    fc = get_json(client, "/collections/sites/items?properties=name_zh,vacancy_rate&limit=1")
    assert set(fc["features"][0]["properties"]) == {"name_zh", "vacancy_rate"}


def test_datetime_filters_on_last_updated(client):
    fc = get_json(client, "/collections/sites/items?datetime=2024-06-02/..")
    assert sorted(f["id"] for f in fc["features"]) == ["qd-a", "qd-b"]
    fc = get_json(client, "/collections/sites/items?datetime=2024-06-02")
    assert [f["id"] for f in fc["features"]] == ["qd-a"]


def test_single_item_and_its_links(client):
    f = get_json(client, "/collections/sites/items/qd-d")
    assert f["properties"]["occupancy_basis"] == "units"
    assert {"self", "collection"} <= {link["rel"] for link in f["links"]}


def test_csv_and_html_outputs(client):
    r = client.get("/collections/sites/items?f=csv&city=西安市")
    assert r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeffid,") and "倍格硅谷" in text
    r = client.get("/collections/sites/items?f=html&q=硅")
    assert r.mimetype == "text/html" and "秦淮硅巷" in r.get_data(as_text=True)


def test_html_escapes_values_from_data(client, app):
    store = app.extensions["get_store"]()
    with store.transaction() as tx:
        tx.put_site(store.get("qd-a").replace(name_zh="<script>alert(1)</script>"))
    html = client.get("/collections/sites/items/qd-a?f=html").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def _api_params(params):
    out = dict(params)
    if "filter_lang" in out:
        out["filter-lang"] = out.pop("filter_lang")
    return out


@pytest.mark.parametrize("params,expected", CASES, ids=[json.dumps(c[0], ensure_ascii=False)[:70] for c in CASES])
def test_the_filter_table_through_the_api(client, params, expected):
    r = client.get("/collections/sites/items", query_string=_api_params(params))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert [f["id"] for f in r.get_json()["features"]] == expected


BAD = [
    ("/collections/sites/items?limit=0", "limit"),
    ("/collections/sites/items?limit=100000", "limit"),
    ("/collections/sites/items?offset=-3", "offset"),
    ("/collections/sites/items?bbox=1,2,3", "bbox"),
    ("/collections/sites/items?bbox-crs=EPSG:3857&bbox=1,2,3,4", "bbox-crs"),
    ("/collections/sites/items?filter=foo%3D1", "filter"),
    ("/collections/sites/items?filter=status%20%3D", "filter"),
    ("/collections/sites/items?filter-lang=sql&filter=x", "filter-lang"),
    ("/collections/sites/items?datetime=yesterday", "datetime"),
    ("/collections/sites/items?datetime=2025-01-01/2024-01-01", "datetime"),
    ("/collections/sites/items?sortby=nothing", "sortby"),
    ("/collections/sites/items?properties=nothing", "properties"),
    ("/collections/sites/items?status=idel", "status"),
    ("/collections/sites/items?f=xml", "f"),
    ("/collections/sites/items?unknown=1", "unknown"),
    ("/collections/sites/items?limit=1&limit=2", "limit"),
    ("/vacancy/summary?vacancy_min=7", "vacancy_min"),
    ("/vacancy/candidates?limit=x", "limit"),
]


@pytest.mark.parametrize("url,parameter", BAD, ids=[b[1] for b in BAD])
def test_bad_parameters_get_a_400_naming_them(client, url, parameter):
    body = get_json(client, url, 400)
    assert body["code"] == "InvalidParameterValue" and body["status"] == 400
    assert body["description"].startswith(parameter)


def test_unknown_collection_and_feature_are_404(client):
    assert get_json(client, "/collections/nope/items", 404)["code"] == "NotFound"
    assert "nope" in get_json(client, "/collections/sites/items/nope", 404)["description"]


def test_summary_and_candidates(client):
    rows = get_json(client, "/vacancy/summary?city=青岛市")["rows"]
    city = next(r for r in rows if r["district"] is None)
    # qd-a 4000/4000 idle, qd-b 2000/8000, qd-c 1000/30000, qd-d 300/1000 (units)
    assert (city["sites"], city["surveyed"], city["idle_area_m2"], city["leasable_area_m2"]) == (5, 4, 7300, 43000)
    cands = get_json(client, "/vacancy/candidates?city=青岛市")["candidates"]
    assert [c["id"] for c in cands][:1] == ["qd-a"]
    assert {r["code"] for r in cands[0]["reasons"]} >= {"idle_area", "vacancy_duration", "heritage"}


def test_openapi_declares_every_parameter_the_items_endpoint_accepts(client):
    from web.api import params
    doc = get_json(client, "/api")
    declared = {p["name"] for p in doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]}
    assert set(params.ITEMS_PARAMS) <= declared
    lang = next(p for p in doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
                if p["name"] == "filter-lang")
    assert lang["schema"]["enum"] == ["cql2-text", "cql2-json", "cql-text"]


@pytest.mark.parametrize("junk", ["'", "%00", "\\", "' OR 1=1 --", "<script>", "🏭" * 50, "9" * 400, "(((",
                                  "S_INTERSECTS(geometry, POLYGON((0 0, 1 1)))", "BBOX(1,2)", "{}", "[]"])
def test_no_input_makes_a_server_error(client, junk):
    for name in ("filter", "bbox", "sortby", "q", "datetime", "near", "within", "limit", "status", "properties"):
        r = client.get("/collections/sites/items", query_string={name: junk})
        assert r.status_code in (200, 400), (name, junk, r.get_data(as_text=True)[:200])


def test_links_name_the_host_and_path_the_client_used(client):
    """Behind a proxy that mounts the app under a path (SCRIPT_NAME) on another host and port."""
    body = client.get("/collections/sites/items?limit=1&city=青岛市", base_url="http://gis.example.org:8080/renewal",
                      headers={"Accept": "application/geo+json"}).get_json()
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert links["self"] == "http://gis.example.org:8080/renewal/collections/sites/items?limit=1&city=%E9%9D%92%E5%B2%9B%E5%B8%82"
    assert links["next"].startswith("http://gis.example.org:8080/renewal/collections/sites/items?")
    item = client.get("/collections/sites/items/qd-a", base_url="https://gis.example.org/renewal").get_json()
    assert item["links"][0]["href"] == "https://gis.example.org/renewal/collections/sites/items/qd-a"


@pytest.mark.parametrize("accept, media", [
    ("application/geo+json, application/json;q=0.9", "application/geo+json"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
    ("text/csv", "text/csv"),
    ("*/*", "application/geo+json"),
    ("", "application/geo+json"),
    ("application/json;q=0.1, text/html;q=0.5", "text/html"),
])
def test_the_format_follows_the_accept_header(client, accept, media):
    for _ in range(2):  # the second answer comes from the cached negotiation
        resp = client.get("/collections/sites/items?limit=1", headers={"Accept": accept} if accept else {})
        assert resp.mimetype == media


def test_an_api_request_without_a_cookie_gets_none(client):
    resp = client.get("/collections/sites/items?limit=1")
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers


def test_links_keep_a_mount_path_that_needs_quoting(client):
    body = client.get("/collections/sites/items/qd-a", base_url="http://h/my%20inventory").get_json()
    assert body["links"][0]["href"] == "http://h/my%20inventory/collections/sites/items/qd-a"
