"""Writes through the API (OGC API – Features Part 4): the Flask test client against a real
GeoPackage with the test accounts, and a real HTTP client against the live server."""

import json
import threading
from datetime import date

import pytest
import requests

from sites.audit import ChangeFilter
from sites.stores import open_store
from tests.web.accounts import add_users, bearer, login
from web import create_app

ITEMS = "/collections/sites/items"
MERGE = "application/merge-patch+json"
NASTY = ("<script>alert(1)</script>", "' OR 1=1 --")


@pytest.fixture
def gpkg_path(gpkg_path):
    """The canonical inventory plus the test accounts, written before any app or server opens it."""
    store = open_store(str(gpkg_path))
    add_users(store)
    store.close()
    return gpkg_path


def new_feature(sid="qd-new", **props):
    base = {"name_zh": "新厂房", "city": "青岛市", "district": "市南区", "district_adcode": "370202",
            "kind": "building", "location_precision": "street", "status": "idle", "data_status": "sample"}
    return {"type": "Feature", "id": sid, "geometry": {"type": "Point", "coordinates": [120.37, 36.07]},
            "properties": {**base, **props}}


def etag_of(client, sid):
    r = client.get(f"{ITEMS}/{sid}")
    assert r.status_code == 200
    return r.headers["ETag"]


def put(client, sid, body, who="admin", etag=None):
    return client.put(f"{ITEMS}/{sid}", json=body,
                      headers={**bearer(who), "If-Match": etag or etag_of(client, sid)})


def patch(client, sid, body, who="admin", etag=None, **headers):
    return client.patch(f"{ITEMS}/{sid}", json=body, content_type=MERGE,
                        headers={**bearer(who), "If-Match": etag or etag_of(client, sid), **headers})


def delete(client, sid, who="admin", etag=None):
    return client.delete(f"{ITEMS}/{sid}", headers={**bearer(who), "If-Match": etag or etag_of(client, sid)})


def changes(app, sid):
    """The site's audit rows written through the API (the canonical load wrote its own), newest first."""
    return app.extensions["get_store"]().changes(ChangeFilter(site_id=sid, channel="api"))[0]


def props(client, sid):
    return client.get(f"{ITEMS}/{sid}").get_json()["properties"]


# --- round trips
def test_create_answers_201_with_location_and_etag_and_reads_back(client):
    r = client.post(ITEMS, json=new_feature(name_en="New Mill", floors=3), headers=bearer("editor"))
    assert r.status_code == 201, r.get_json()
    assert r.headers["Location"].endswith(f"{ITEMS}/qd-new")
    assert r.headers["ETag"] == '"v1"'
    got = client.get(r.headers["Location"])
    assert got.headers["ETag"] == '"v1"'
    p = got.get_json()["properties"]
    assert (p["name_zh"], p["name_en"], p["floors"], p["status"]) == ("新厂房", "New Mill", 3, "idle")
    assert got.get_json()["geometry"] == {"type": "Point", "coordinates": [120.37, 36.07]}


def test_create_takes_the_id_from_the_properties_too(client):
    body = new_feature()
    body["properties"]["id"] = body.pop("id")
    r = client.post(ITEMS, json=body, headers=bearer("admin"), content_type="application/geo+json")
    assert r.status_code == 201
    assert client.get(f"{ITEMS}/qd-new").status_code == 200


@pytest.mark.parametrize("sid", ["qd-a", "qd-f"])  # qd-f is retired: ids are never reused
def test_create_with_an_existing_id_is_409_and_changes_nothing(client, app, sid):
    before = client.get(f"{ITEMS}/{sid}").get_json()
    r = client.post(ITEMS, json=new_feature(sid), headers=bearer("admin"))
    assert r.status_code == 409
    assert client.get(f"{ITEMS}/{sid}").get_json() == before
    assert changes(app, sid) == []


def test_replace_sets_every_property_from_the_body_and_nulls_missing_ones(client):
    body = new_feature("qd-a", name_zh="海聊制衣厂", operator="某运营方")
    r = put(client, "qd-a", body)
    assert r.status_code == 200, r.get_json()
    p = props(client, "qd-a")
    assert (p["name_zh"], p["operator"]) == ("海聊制衣厂", "某运营方")
    assert p["name_en"] is None and p["year_built"] is None and p["aliases"] == []  # were set before
    assert p["first_added"] == "2024-01-01"  # bookkeeping is kept
    assert r.headers["ETag"] == etag_of(client, "qd-a") == '"v2"'


def test_a_feature_read_with_get_can_be_edited_and_put_back(client):
    feature = client.get(f"{ITEMS}/qd-b").get_json()  # with derived values, version, lon, lat and links
    feature["properties"]["operator"] = "春峰里运营"
    r = put(client, "qd-b", feature)
    assert r.status_code == 200, r.get_json()
    after = props(client, "qd-b")
    assert after["operator"] == "春峰里运营"
    assert after["last_updated"] == date.today().isoformat()  # something changed: stamped today
    same = set(after) - {"operator", "version", "last_updated"}
    assert {k: after[k] for k in same} == {k: feature["properties"][k] for k in same}


def test_patch_changes_the_named_properties_and_null_removes_one(client):
    before = props(client, "qd-a")
    r = patch(client, "qd-a", {"properties": {"operator": "新运营方", "name_en": None}})
    assert r.status_code == 200, r.get_json()
    after = props(client, "qd-a")
    assert (after["operator"], after["name_en"]) == ("新运营方", None)
    assert after["last_updated"] != before["last_updated"]  # stamped today
    unchanged = set(before) - {"operator", "name_en", "version", "last_updated"}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}


def test_patch_moves_the_geometry(client):
    r = patch(client, "qd-a", {"geometry": {"type": "Point", "coordinates": [120.381, 36.071]}})
    assert r.status_code == 200, r.get_json()
    assert client.get(f"{ITEMS}/qd-a").get_json()["geometry"]["coordinates"] == [120.381, 36.071]


def test_delete_retires_the_site_and_keeps_it(client, app):
    r = delete(client, "qd-a")
    assert r.status_code == 204 and r.get_data() == b""
    got = client.get(f"{ITEMS}/qd-a")
    assert got.status_code == 200 and got.get_json()["properties"]["status"] == "retired"
    assert got.headers["ETag"] == r.headers["ETag"] == '"v2"'
    listed = {f["id"] for f in client.get(ITEMS).get_json()["features"]}
    assert "qd-a" not in listed
    assert "qd-a" in {f["id"] for f in client.get(f"{ITEMS}?include_retired=true").get_json()["features"]}


def test_every_write_changes_the_etag(client):
    seen = [etag_of(client, "qd-b")]
    seen.append(patch(client, "qd-b", {"properties": {"operator": "甲"}}, etag=seen[-1]).headers["ETag"])
    seen.append(put(client, "qd-b", client.get(f"{ITEMS}/qd-b").get_json(), etag=seen[-1]).headers["ETag"])
    seen.append(patch(client, "qd-b", {"properties": {"operator": "乙"}}, etag=seen[-1]).headers["ETag"])
    seen.append(delete(client, "qd-b", etag=seen[-1]).headers["ETag"])
    assert seen == ['"v1"', '"v2"', '"v2"', '"v3"', '"v4"']  # the PUT changed nothing: same version
    assert etag_of(client, "qd-b") == '"v4"'


# --- concurrency
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("if_match", [None, "*"])
def test_a_write_without_a_specific_if_match_is_428_and_writes_nothing(client, app, method, if_match):
    headers = {**bearer("admin"), **({"If-Match": if_match} if if_match else {})}
    body = {"put": {"json": new_feature("qd-a")}, "patch": {"json": {"properties": {"floors": 9}},
                                                            "content_type": MERGE}, "delete": {}}[method]
    r = getattr(client, method)(f"{ITEMS}/qd-a", headers=headers, **body)
    assert r.status_code == 428
    assert "If-Match" in r.get_json()["detail"]
    assert etag_of(client, "qd-a") == '"v1"' and changes(app, "qd-a") == []


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_stale_etag_is_412_and_leaves_the_site_unchanged(client, app, method):
    stale = etag_of(client, "qd-a")
    assert patch(client, "qd-a", {"properties": {"operator": "先到者"}}, etag=stale).status_code == 200
    before = client.get(f"{ITEMS}/qd-a").get_json()
    if method == "put":
        r = put(client, "qd-a", new_feature("qd-a", operator="后到者"), etag=stale)
    elif method == "patch":
        r = patch(client, "qd-a", {"properties": {"operator": "后到者"}}, etag=stale)
    else:
        r = delete(client, "qd-a", etag=stale)
    assert r.status_code == 412
    assert client.get(f"{ITEMS}/qd-a").get_json() == before
    assert len(changes(app, "qd-a")) == 1


def test_a_weak_etag_never_matches(client):
    assert patch(client, "qd-a", {"properties": {"floors": 4}}, etag='W/"v1"').status_code == 412


def test_of_two_writes_with_the_same_etag_only_the_first_wins(client):
    etag = etag_of(client, "qd-a")
    first = patch(client, "qd-a", {"properties": {"operator": "甲"}}, etag=etag)
    second = patch(client, "qd-a", {"properties": {"operator": "乙"}}, etag=etag)
    assert (first.status_code, second.status_code) == (200, 412)
    assert props(client, "qd-a")["operator"] == "甲"


# --- who may write
WHO = {
    "anonymous": {},
    "bad token": {"Authorization": "Bearer not-a-token-of-anyone"},
    "viewer": bearer("viewer"),
    "editor": bearer("editor"),  # 青岛市/市南区: qd-a, qd-b
    "city_editor": bearer("city_editor"),  # 青岛市
    "admin": bearer("admin"),
}
OK = {"post": 201, "put": 200, "patch": 200, "delete": 204}
MATRIX = [  # (who, site, expected: None means the method's success status)
    ("anonymous", "qd-a", 401), ("bad token", "qd-a", 401), ("viewer", "qd-a", 403),
    ("editor", "qd-c", 403), ("editor", "xa-g", 403), ("editor", "qd-a", None),
    ("city_editor", "qd-c", None), ("city_editor", "xa-g", 403), ("admin", "xa-g", None),
]


def _request(client, method, who, sid):
    headers = dict(WHO[who])
    if method == "post":
        site = client.get(f"{ITEMS}/{sid}").get_json()
        body = {**site, "id": f"{sid}-copy"}
        return client.post(ITEMS, json=body, headers=headers)
    headers["If-Match"] = etag_of(client, sid)
    if method == "put":
        return client.put(f"{ITEMS}/{sid}", json=client.get(f"{ITEMS}/{sid}").get_json() | {"properties": {
            **props(client, sid), "operator": "换了"}}, headers=headers)
    if method == "patch":
        return client.patch(f"{ITEMS}/{sid}", json={"properties": {"operator": "换了"}}, content_type=MERGE,
                            headers=headers)
    return client.delete(f"{ITEMS}/{sid}", headers=headers)


@pytest.mark.parametrize("method", list(OK))
@pytest.mark.parametrize("who, sid, expected", MATRIX)
def test_permission_matrix(client, app, method, who, sid, expected):
    r = _request(client, method, who, sid)
    assert r.status_code == (expected or OK[method]), r.get_json()
    written = changes(app, f"{sid}-copy" if method == "post" else sid)
    assert len(written) == (0 if expected else 1)
    if expected == 401:
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    if written:
        assert (written[0].channel, written[0].user) == ("api", who)


def test_an_editor_cannot_move_a_site_out_of_their_district(client, app):
    r = patch(client, "qd-a", {"properties": {"district": "李沧区", "district_adcode": "370213"}}, who="editor")
    assert r.status_code == 403
    assert props(client, "qd-a")["district"] == "市南区" and changes(app, "qd-a") == []


def test_the_session_cookie_is_not_accepted_for_api_writes(client, app):
    assert login(client, "admin").status_code == 302
    r = client.patch(f"{ITEMS}/qd-a", json={"properties": {"floors": 9}}, content_type=MERGE,
                     headers={"If-Match": etag_of(client, "qd-a")})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert changes(app, "qd-a") == []


def test_a_basic_authorization_header_is_401(client):
    r = client.delete(f"{ITEMS}/qd-a", headers={"Authorization": "Basic YWRtaW46eA==", "If-Match": '"v1"'})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")


def test_writes_to_districts_are_404(client):
    assert client.post("/collections/districts/items", json=new_feature(), headers=bearer("admin")).status_code == 404


def test_a_write_to_a_missing_site_is_404(client):
    r = client.patch(f"{ITEMS}/qd-nowhere", json={"properties": {"floors": 1}}, content_type=MERGE,
                     headers={**bearer("admin"), "If-Match": '"v1"'})
    assert r.status_code == 404


def test_confidential_fields_the_writer_cannot_see_are_kept_by_a_put(gpkg_path):
    app = create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test",
                      "CONFIDENTIAL_ROLE": "admin"})
    client = app.test_client()
    feature = client.get(f"{ITEMS}/qd-a", headers=bearer("editor")).get_json()
    feature["properties"].pop("rent_cny_per_m2_day", None)  # as the editor reads it
    feature["properties"]["floors"] = 4
    r = put(client, "qd-a", feature, who="editor")
    assert r.status_code == 200 and "rent_cny_per_m2_day" not in r.get_json()["properties"]
    assert app.extensions["get_store"]().get("qd-a").rent_cny_per_m2_day == 1.5


# --- what is stored
@pytest.mark.parametrize("text", NASTY)
def test_markup_and_sql_are_stored_verbatim(client, app, text):
    r = client.post(ITEMS, json=new_feature(name_zh=text, name_en=text, operator=text, aliases=[text]),
                    headers=bearer("admin"))
    assert r.status_code == 201
    p = props(client, "qd-new")
    assert (p["name_zh"], p["name_en"], p["operator"], p["aliases"]) == (text, text, text, [text])
    assert patch(client, "qd-a", {"properties": {"address_zh": text}}).status_code == 200
    assert props(client, "qd-a")["address_zh"] == text
    assert app.extensions["get_store"]().get("qd-b").name_zh == "春峰里"  # nothing else touched


def test_each_write_is_one_audit_row_with_the_token_user_and_the_change(client, app):
    client.post(ITEMS, json=new_feature(), headers=bearer("editor"))
    put(client, "qd-new", new_feature(name_zh="改名"), who="editor")
    patch(client, "qd-new", {"properties": {"floors": 2}}, who="city_editor")
    delete(client, "qd-new", who="admin")
    rows = list(reversed(changes(app, "qd-new")))
    assert [(c.action, c.user, c.channel, c.version) for c in rows] == [
        ("create", "editor", "api", 1), ("update", "editor", "api", 2), ("update", "city_editor", "api", 3),
        ("retire", "admin", "api", 4)]
    assert rows[0].before is None and rows[0].after["name_zh"] == "新厂房"
    assert rows[1].before["name_zh"] == "新厂房" and rows[1].after["name_zh"] == "改名"
    assert rows[2].before["floors"] is None and rows[2].after["floors"] == 2
    assert (rows[3].before["status"], rows[3].after["status"]) == ("idle", "retired")


# --- bad requests
BAD = [  # (body, a word the message must contain)
    ("not json", "JSON"),
    ({"type": "FeatureCollection", "features": []}, "Feature"),
    ([1, 2], "Feature"),
    (new_feature(colour="red"), "colour"),
    (new_feature(floors="five"), "floors"),
    (new_feature(floors=2.5), "floors"),
    (new_feature(gross_floor_area_m2=True), "gross_floor_area_m2"),
    (new_feature(in_historic_area="yes"), "in_historic_area"),
    (new_feature(aliases="a;b"), "aliases"),
    (new_feature(status="abandoned"), "status"),
    (new_feature(vacant_since="last year"), "vacant_since"),
    (new_feature(name_zh=None), "name_zh"),
    (new_feature(gross_floor_area_m2=100, leasable_area_m2=200), "leasable_area_m2"),
    (new_feature(vacancy_rate=0.5) | {"_strict": True}, "vacancy_rate"),
    (json.dumps(new_feature(name_en="\ud800")), "name_en"),  # a lone surrogate: JSON allows it, UTF-8 not
    (new_feature("Not A Slug"), "id"),
    (new_feature() | {"id": 7}, "id"),
    (new_feature() | {"geometry": None}, "geometry"),
    (new_feature() | {"geometry": {"type": "Point", "coordinates": ["a", "b"]}}, "geometry"),
    (new_feature() | {"geometry": {"type": "Polygon", "coordinates": [[[120.37, 36.07], [120.38, 36.07]]]}},
     "geometry"),
    (new_feature() | {"geometry": {"type": "Polygon", "coordinates": [[[120.37, 36.07], [120.38, 36.08],
                                                                       [120.38, 36.07], [120.37, 36.08],
                                                                       [120.37, 36.07]]]}}, "geometry"),
    (new_feature() | {"geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}, "geometry"),
    (new_feature() | {"geometry": {"type": "LineString", "coordinates": [[120.37, 36.07], [120.38, 36.08]]}},
     "geometry"),
]


@pytest.mark.parametrize("body, word", BAD, ids=[str(i) for i in range(len(BAD))])
def test_a_bad_body_is_400_naming_the_field(client, app, body, word):
    strict = isinstance(body, dict) and body.pop("_strict", False)
    data = body if isinstance(body, str) else None
    if strict:  # read-only properties are ignored by POST/PUT, refused by PATCH
        r = patch(client, "qd-a", {"properties": body["properties"]})
    elif data is not None:
        r = client.post(ITEMS, data=data, content_type="application/json", headers=bearer("admin"))
    else:
        r = client.post(ITEMS, json=body, headers=bearer("admin"))
    assert r.status_code == 400, r.get_json()
    assert word in r.get_json()["detail"]
    assert changes(app, "qd-new") == [] and changes(app, "qd-a") == []


def test_nan_is_not_a_number_here(client):
    text = '{"type": "Feature", "id": "qd-new", "geometry": {"type": "Point", "coordinates": [NaN, 36.07]}}'
    r = client.post(ITEMS, data=text, content_type="application/json", headers=bearer("admin"))
    assert r.status_code == 400 and "NaN" in r.get_json()["detail"]


@pytest.mark.parametrize("method, ctype", [("post", "text/plain"), ("post", "application/x-www-form-urlencoded"),
                                           ("put", "text/csv"), ("patch", "application/json"),
                                           ("patch", "application/json-patch+json")])
def test_a_wrong_content_type_is_415(client, method, ctype):
    url = ITEMS if method == "post" else f"{ITEMS}/qd-a"
    r = getattr(client, method)(url, data="{}", content_type=ctype,
                                headers={**bearer("admin"), "If-Match": '"v1"'})
    assert r.status_code == 415 and ctype.split(";")[0] in r.get_json()["detail"]


def test_a_foreign_crs_is_refused(client):
    r = client.post(ITEMS, json=new_feature(), headers={**bearer("admin"),
                                                        "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/3857>"})
    assert r.status_code == 400 and "Content-Crs" in r.get_json()["detail"]


# --- the document
def test_conformance_and_openapi_declare_the_writes(client):
    classes = client.get("/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update" in classes
    doc = client.get("/api").get_json()
    item = doc["paths"]["/collections/{collectionId}/items/{featureId}"]
    assert {"get", "put", "patch", "delete"} <= set(item)
    assert "post" in doc["paths"]["/collections/{collectionId}/items"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for op in (item["put"], item["patch"], item["delete"]):
        assert {"401", "403", "404", "412", "428"} <= set(op["responses"])
        assert any(p["name"] == "If-Match" and p["required"] for p in op["parameters"])
    assert "never deleted" in item["delete"]["summary"]


# --- a real HTTP client against the live server
def test_round_trip_over_http(live_server):
    s = requests.Session()
    s.headers.update(bearer("editor"))
    r = s.post(f"{live_server}{ITEMS}", json=new_feature(), headers={"Content-Type": "application/geo+json"})
    assert r.status_code == 201 and r.headers["ETag"] == '"v1"'
    url = r.headers["Location"]
    got = requests.get(url)
    assert got.json()["properties"]["name_zh"] == "新厂房" and got.headers["ETag"] == '"v1"'
    r = s.patch(url, json={"properties": {"operator": NASTY[0]}},
                headers={"Content-Type": MERGE, "If-Match": got.headers["ETag"]})
    assert r.status_code == 200 and r.headers["ETag"] == '"v2"'
    assert requests.get(url).json()["properties"]["operator"] == NASTY[0]
    assert s.delete(url, headers={"If-Match": '"v1"'}).status_code == 412
    assert s.delete(url, headers={"If-Match": '"v2"'}).status_code == 204
    assert requests.get(url).json()["properties"]["status"] == "retired"
    assert requests.delete(url, headers={"If-Match": '"v3"'}).status_code == 401


def test_two_clients_racing_with_the_same_etag_only_one_wins(live_server, gpkg_path):
    url = f"{live_server}{ITEMS}/qd-a"
    etag = requests.get(url).headers["ETag"]
    start, results = threading.Barrier(2), {}

    def write(who, value):
        session = requests.Session()
        start.wait()
        results[who] = session.patch(url, json={"properties": {"operator": value}}, headers={
            **bearer(who), "Content-Type": MERGE, "If-Match": etag})

    threads = [threading.Thread(target=write, args=(who, who)) for who in ("editor", "admin")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 412]
    winner = next(who for who, r in results.items() if r.status_code == 200)
    assert requests.get(url).json()["properties"]["operator"] == winner
    store = open_store(str(gpkg_path))
    try:
        rows = store.changes(ChangeFilter(site_id="qd-a", channel="api"))[0]
    finally:
        store.close()
    assert [(c.action, c.user) for c in rows] == [("update", winner)]
