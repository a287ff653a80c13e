"""The features the GeoPackage store renders in SQL (store.query_geojson, sites.stores.gpkg.features)
equal the Python rendering (web.api.geojson.site_feature over sites.schema.site_properties): the same
properties in the same order, each value equal and of the same JSON type, for every site, with and
without a property subset.  The awkward sites carry floats where SQLite's own rounding or its
15-digit output would differ from Python's."""

from __future__ import annotations

import json
from datetime import date

import pytest
from shapely.geometry import MultiPolygon, Point, box

from bench import synthetic
from sites import build_query
from sites.model import Survey, Unit
from sites.query import Query
from sites.stores import gpkg, open_store
from sites.stores.base import PROPERTIES
from tests import canonical, synthetic_stores
from web.api import geojson

SUBSETS = [
    None,
    [],
    ["vacancy_rate", "name_zh", "lon"],
    ["id", "name_zh", "name_zh", "no_such_property", "idle_area_m2"],  # id and unknown names are left out
    list(reversed(PROPERTIES)),
    ["lat", "rent_cny_per_m2_day", "occupied_area_m2", "in_historic_area", "industries", "survey_date"],
    # in PROPERTIES' order: cut from the kept rendering (all but the confidential ones, as anonymous users get)
    [p for p in PROPERTIES if p not in ("rent_cny_per_m2_day", "operator_contact", "tenant")],
    [p for p in PROPERTIES if p in ("name_zh", "industries", "rent_cny_per_m2_day", "vacancy_rate", "lat")],
    [p for p in PROPERTIES if p in ("name_zh", "industries", "vacancy_rate", "lat")],  # of the open ones only
    [p for p in PROPERTIES if p != "operator_contact"],
]


def strict(a, b) -> bool:
    """Equal as JSON values, types included (1 is not 1.0, True is not 1).  The order of the
    properties is checked apart (the order of a feature's own members means nothing)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return set(a) == set(b) and all(strict(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict(x, y) for x, y in zip(a, b))
    return a == b


def python_features(store, properties) -> list[dict]:
    """The reference, through JSON text as a client sees it."""
    sites = store.query(Query(filter=None, sortby=(), limit=None)).sites
    return json.loads(json.dumps([geojson.site_feature(s, properties) for s in sites], ensure_ascii=False))


def sql_features(store, properties) -> list[dict]:
    found = store.query_geojson(Query(filter=None, sortby=(), limit=None),
                                PROPERTIES if properties is None else properties)
    features = json.loads(found.features)
    assert found.number_returned == len(features) == found.number_matched
    return features


def assert_same(store, properties):
    want, got = python_features(store, properties), sql_features(store, properties)
    assert [f["id"] for f in got] == [f["id"] for f in want]
    for w, g in zip(want, got):
        assert list(g["properties"]) == list(w["properties"]), w["id"]
        assert strict(g, w), f"{w['id']}: " + "; ".join(
            f"{k}: sql {g['properties'].get(k)!r} python {w['properties'].get(k)!r}"
            for k in w["properties"] if not strict(g["properties"].get(k), w["properties"][k])) + \
            ("" if strict(g["geometry"], w["geometry"]) else f"; geometry {g['geometry']} vs {w['geometry']}")


def drop_renderings(store) -> None:
    """What an edit by another program does (QGIS, GDAL: a plain UPDATE of the sites table, not through
    our writer): the triggers drop the kept renderings, and the sites are rendered live."""
    conn = gpkg.connect(store.path)
    conn.execute("UPDATE sites SET version = version")
    assert conn.execute("SELECT count(*) FROM site_features").fetchone()[0] == 0
    conn.close()


#: every check runs on the kept renderings and on sites rendered live
RENDERINGS = ["kept", "live"]


@pytest.fixture(params=RENDERINGS)
def canonical_store(tmp_path, request):
    store = canonical.load(open_store(str(tmp_path / "canonical.gpkg"), create=True))
    if request.param == "live":
        drop_renderings(store)
    yield store
    store.close()


#: floats on a rounding tie at the 7th decimal, past 1e7, with 16-17 significant digits, ...
AWKWARD = [41606.0320755, 1.2345675, 0.0000005, 1 / 3, 12345678.1234565, 9876543.21, 2.5e-7, 0.1 + 0.2,
           123456.7890125, 5000.0, 0.0]


@pytest.fixture(params=RENDERINGS)
def awkward_store(tmp_path, request):
    store = open_store(str(tmp_path / "awkward.gpkg"), create=True)
    sites, surveys = synthetic.generate(40, seed=3)
    base = canonical.SITES[0]
    extra = []
    for i, x in enumerate(AWKWARD):
        extra.append(base.replace(
            id=f"aw-{i}", name_zh=f"怪\"数\\{i}\n", aliases=("a\"b", "名,称") if i % 2 else (),
            geometry=Point(120.38412345678912 + i * 1e-9 if i % 2 else 120.3841234 + i * 5e-8, 36.0700000 + i * 1.5e-7),
            gross_floor_area_m2=max(x, 1e-6) * 3 if i % 3 else 2e8, leasable_area_m2=x * 2,
            rent_cny_per_m2_day=x, in_historic_area=(None, True, False)[i % 3], year_built=None if i % 2 else 1999,
            floors=i, industries=("软件",) if i % 2 else (), vacant_since=None, name_en=None))
    extra.append(base.replace(id="aw-poly", geometry=box(120.38, 36.06, 120.39, 36.07 + 1 / 300)))
    parts = [box(120.1, 36.2, 120.3, 36.4), box(120 + 1 / 3, 36 + 1 / 7, 120 + 2 / 3, 36 + 2 / 7)]
    extra.append(base.replace(id="aw-multi", geometry=MultiPolygon(parts)))
    with store.transaction() as tx:
        tx.today = date(2026, 11, 22)
        for s in sites + extra:
            tx.put_site(s)
        for s in surveys:
            tx.put_survey(s)
        for i, x in enumerate(AWKWARD):  # idle area and vacancy rate from awkward leasable and occupied areas
            tx.put_survey(Survey(f"aw-{i}", date(2024, 1, 1), x * 2, x * 2 / 3 if i % 2 else x, i, "test", "sample"))
        tx.set_units("aw-poly", [Unit("aw-poly", "1F", "1", 0.1, "leased", "甲", date(2024, 1, 1)),
                                 Unit("aw-poly", "1F", "2", 0.2, "vacant_available")])
    if request.param == "live":
        drop_renderings(store)
    yield store
    store.close()


@pytest.mark.parametrize("properties", SUBSETS)
def test_canonical_features_rendered_in_sql_equal_pythons(canonical_store, properties):
    assert_same(canonical_store, properties)


@pytest.mark.parametrize("properties", SUBSETS)
def test_awkward_features_rendered_in_sql_equal_pythons(awkward_store, properties):
    assert_same(awkward_store, properties)


def test_a_long_property_list_is_written_in_parts(canonical_store, monkeypatch):
    """json_object takes at most 127 arguments: longer lists are joined from smaller objects."""
    from sites.stores.gpkg import features
    monkeypatch.setattr(features, "_PAIRS", 7)
    features._select.cache_clear()
    try:
        for properties in (None, list(reversed(PROPERTIES))):
            assert_same(canonical_store, properties)
    finally:
        features._select.cache_clear()


def test_the_listed_properties_are_the_only_ones_emitted(canonical_store):
    found = canonical_store.query_geojson(Query(), ["status", "city"])
    assert all(list(f["properties"]) == ["status", "city"] for f in json.loads(found.features))


def test_every_property_is_rendered_in_sites_properties_order(canonical_store):
    site = canonical_store.get("qd-a")
    assert list(geojson.site_feature(site)["properties"]) == list(PROPERTIES)
    from sites.schema import site_properties
    assert [k for k in site_properties(site) if k != "id"] == list(PROPERTIES)


@pytest.mark.parametrize("params", [{}, {"status": "idle,partly_idle"}, {"bbox": "120.30,36.04,120.42,36.10"},
                                    {"sortby": "-vacancy_rate", "offset": "2", "limit": "3"},
                                    {"filter": "gross_floor_area_m2 > 10000"}, {"q": "厂"},
                                    {"include_retired": "true", "limit": "4", "offset": "1"}])
def test_geojson_pages_are_the_query_pages(awkward_store, params):
    q = build_query(params)
    page, found = awkward_store.query(q), awkward_store.query_geojson(q, ["name_zh"])
    assert [f["id"] for f in json.loads(found.features)] == [s.id for s in page.sites]
    assert (found.number_matched, found.number_returned) == (page.number_matched, len(page.sites))


def test_the_memory_store_renders_the_same(canonical_store):
    memory = canonical.load(open_store("memory://"))
    q = build_query({"include_retired": "true"})
    assert json.loads(memory.query_geojson(q, PROPERTIES).features) == \
        json.loads(canonical_store.query_geojson(q, PROPERTIES).features)


def test_the_items_response_carries_the_sql_features(client):
    body = client.get("/collections/sites/items?properties=status,name_zh&limit=2&offset=1").get_json()
    assert [list(f["properties"]) for f in body["features"]] == [["status", "name_zh"]] * 2
    assert (body["numberReturned"], body["numberMatched"]) == (2, 8)
    assert [link["rel"] for link in body["links"]][:1] == ["self"] and "next" in [x["rel"] for x in body["links"]]


@pytest.fixture(scope="module")
def twin_stores(tmp_path_factory):
    """The same 300 synthetic sites in the GeoPackage store and in the memory store (the reference
    evaluator, sites.evaluate)."""
    stores = synthetic_stores.twins(tmp_path_factory.mktemp("twin"), 300, seed=5)
    yield stores
    for store in stores:
        store.close()


QINGDAO, OLD_TOWN = "119.9,35.8,120.9,36.6", "120.30,36.04,120.42,36.10"


# A map's query (one spatial or distance predicate, maybe "not retired") is answered from the R-tree
# (sites.stores.gpkg.sql.spatial_page): by walking the ids when the hits are many, else by sorting them.
@pytest.mark.parametrize("params", [
    {"bbox": QINGDAO, "limit": "10"},  # many hits, early page: walks the ids
    {"bbox": QINGDAO, "limit": "10", "offset": "60"},
    {"bbox": QINGDAO, "limit": "100", "offset": "110"},  # far page: sorts
    {"bbox": QINGDAO, "include_retired": "true", "limit": "7", "offset": "3"},
    {"bbox": QINGDAO, "sortby": "-vacancy_rate,name_zh", "limit": "20"},
    {"bbox": OLD_TOWN, "limit": "5"},
    {"bbox": "120.38,36.07,120.381,36.071"},  # few or no hits
    {"near": "120.38,36.07", "radius": "3000", "limit": "10"},
    {"near": "120.38,36.07", "radius": "800", "include_retired": "true"},
    {"filter": "S_INTERSECTS(geometry, POLYGON((120.3 36.0, 120.5 36.0, 120.4 36.2, 120.3 36.0)))", "limit": "15"},
    {"filter": "S_WITHIN(geometry, POLYGON((120.3 36.0, 120.5 36.0, 120.4 36.2, 120.3 36.0)))"},
    {"filter": "S_DISJOINT(geometry, POLYGON((120.3 36.0, 120.5 36.0, 120.4 36.2, 120.3 36.0)))", "limit": "9"},
    {"bbox": QINGDAO, "status": "idle", "limit": "10"},  # not a map's query: the general plan
])
def test_spatial_pages_equal_the_reference_evaluator(twin_stores, params):
    gpkg, memory = twin_stores
    q = build_query(params)
    want, found = memory.query(q), gpkg.query_geojson(q, ["status"])
    assert [f["id"] for f in json.loads(found.features)] == [s.id for s in want.sites]
    assert found.number_matched == want.number_matched
    assert [s.id for s in gpkg.query(q).sites] == [s.id for s in want.sites]


def kept_renderings(store) -> dict[str, str]:
    conn = gpkg.connect(store.path)
    try:
        return dict(conn.execute("SELECT s.id, f.open_properties FROM sites s JOIN site_features f USING (fid)"))
    finally:
        conn.close()


def test_every_write_keeps_the_renderings_of_what_it_touched(tmp_path):
    store = canonical.load(open_store(str(tmp_path / "s.gpkg"), create=True))
    try:
        assert set(kept_renderings(store)) == {s.id for s in canonical.SITES}
        with store.transaction() as tx:  # a survey changes qd-b's idle area, units change qd-a's
            tx.put_survey(Survey("qd-b", date(2025, 6, 1), 8000, 1000, 3, "test", "sample"))
            tx.put_site(store.get("qd-c").replace(name_zh="新名字"))
        kept = kept_renderings(store)
        assert json.loads(kept["qd-b"])["idle_area_m2"] == 7000
        assert json.loads(kept["qd-c"])["name_zh"] == "新名字"
        assert set(kept) == {s.id for s in canonical.SITES}
        assert_same(store, None)
    finally:
        store.close()


def test_an_edit_by_another_program_is_never_served_stale(canonical_store):
    """Another program renames a site and moves another: the next page shows both, and opening the
    store again keeps their renderings anew."""
    conn = gpkg.connect(canonical_store.path)
    conn.execute("UPDATE sites SET name_zh = '改名了' WHERE id = 'qd-a'")
    conn.execute("UPDATE sites SET geom = ?, year_built = 1888 WHERE id = 'qd-b'",
                 (gpkg.blob.encode(Point(120.5, 36.5)),))
    conn.close()
    features = {f["id"]: f for f in sql_features(canonical_store, None)}
    assert features["qd-a"]["properties"]["name_zh"] == "改名了"
    assert features["qd-b"]["properties"]["year_built"] == 1888
    assert features["qd-b"]["geometry"] == {"type": "Point", "coordinates": [120.5, 36.5]}
    assert_same(canonical_store, None)
    reopened = open_store(str(canonical_store.path))
    try:
        conn = gpkg.connect(canonical_store.path)
        assert conn.execute("SELECT count(*) FROM sites s LEFT JOIN site_features f USING (fid) "
                            "WHERE f.fid IS NULL").fetchone()[0] == 0
        conn.close()
        assert {f["id"]: f for f in sql_features(reopened, None)} == features
    finally:
        reopened.close()


@pytest.mark.parametrize("properties", SUBSETS)
def test_properties_in_their_own_order_are_cut_from_the_kept_rendering(properties):
    from sites.stores.gpkg import features
    names = features.chosen(PROPERTIES if properties is None else properties)
    in_order = list(names) == [p for p in PROPERTIES if p in names]
    assert ("site_features" in features._select(names)) == in_order


@pytest.mark.parametrize("properties", SUBSETS)
def test_one_feature_is_rendered_as_on_a_page(awkward_store, properties):
    """store.feature_geojson (the API's single item) equals the Python rendering, on the GeoPackage
    store (kept or live) and the memory store's default, with the site's version."""
    names = PROPERTIES if properties is None else properties
    for site_id in ("aw-0", "aw-5", "aw-poly", "aw-multi"):
        site = awkward_store.get(site_id)
        text, version = awkward_store.feature_geojson(site_id, names)
        want = json.loads(json.dumps(geojson.site_feature(site, names), ensure_ascii=False))
        got = json.loads(text)
        assert strict(got, want) and list(got["properties"]) == list(want["properties"]), site_id
        assert version == site.version
        from sites.stores.base import SiteStore
        assert SiteStore.feature_geojson(awkward_store, site_id, names) == (
            json.dumps(want, ensure_ascii=False, separators=(",", ":")).encode(), version)


def test_an_unknown_item_is_not_found(awkward_store):
    from sites.errors import NotFound
    with pytest.raises(NotFound, match="no site 'nope'"):
        awkward_store.feature_geojson("nope", PROPERTIES)


def test_the_item_response_carries_the_stored_feature_its_links_and_etag(client):
    resp = client.get("/collections/sites/items/qd-a")
    body = resp.get_json()
    assert resp.mimetype == "application/geo+json" and resp.headers["ETag"] == '"v1"'
    assert body["id"] == "qd-a" and body["properties"]["name_zh"]
    assert "rent_cny_per_m2_day" not in body["properties"]  # confidential for anonymous callers
    assert [link["rel"] for link in body["links"]] == ["self", "alternate", "collection"]
    body = client.get("/collections/sites/items/qd-a?properties=vacancy_rate,name_zh").get_json()
    assert list(body["properties"]) == ["vacancy_rate", "name_zh"]


def rebuild_sites_table(path) -> None:
    """What a schema change by another program does (SQLite's 'new table, copy, drop, rename'; DB
    Browser's 'Modify table'): the table's triggers go with the old table."""
    conn = gpkg.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")  # as the procedure says
    ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'sites'").fetchone()[0]
    conn.executescript(f"""BEGIN; {ddl.replace('CREATE TABLE sites', 'CREATE TABLE new_sites', 1)};
        INSERT INTO new_sites SELECT * FROM sites; DROP TABLE sites; ALTER TABLE new_sites RENAME TO sites;
        COMMIT;""")
    conn.execute("UPDATE sites SET name_zh = '改建后', status = 'operating' WHERE id = 'qd-a'")
    conn.close()


def test_nothing_stale_is_served_when_the_triggers_are_gone(tmp_path):
    store = canonical.load(open_store(str(tmp_path / "s.gpkg"), create=True))
    rebuild_sites_table(store.path)
    try:
        got = json.loads(store.feature_geojson("qd-a", PROPERTIES)[0])["properties"]
        assert (got["name_zh"], got["status"]) == ("改建后", "operating")
        page = {f["id"]: f for f in sql_features(store, None)}
        assert page["qd-a"]["properties"]["name_zh"] == "改建后"
        assert_same(store, None)
    finally:
        store.close()
    reopened = open_store(str(store.path))  # the triggers, renderings and counts are made again
    try:
        conn = gpkg.connect(store.path)
        from sites.stores.gpkg import kept
        assert kept.trust(conn) == kept.Trust(renderings=True, counts=True)
        conn.close()
        assert set(kept_renderings(reopened)) == {s.id for s in canonical.SITES}
        assert_same(reopened, None)
    finally:
        reopened.close()


def test_a_site_that_cannot_be_rendered_blocks_neither_writes_nor_opening(tmp_path):
    """Another program adds a row with an empty point: a large import of other sites and opening the
    store still work (that row is simply not kept)."""
    path = tmp_path / "s.gpkg"
    canonical.load(open_store(str(path), create=True)).close()
    conn = gpkg.connect(path)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(sites)") if r[1] not in ("fid", "geom", "id")]
    names = ", ".join(f'"{c}"' for c in columns)
    conn.execute(f"INSERT INTO sites (geom, id, {names}) SELECT ?, 'ext-empty', {names} FROM sites WHERE id = 'qd-a'",
                 (gpkg.blob.encode(Point()),))
    conn.execute("REPLACE INTO sites SELECT * FROM sites WHERE id = 'qd-b'")  # and the counts drift
    conn.close()
    store = open_store(str(path))
    try:
        base = store.get("qd-a")
        with store.transaction() as tx:
            tx.today = canonical.TODAY
            for i in range(950):
                tx.put_site(base.replace(id=f"imp-{i:04d}", name_zh=f"导入{i}"))
        assert "imp-0949" in kept_renderings(store) and "ext-empty" not in kept_renderings(store)
    finally:
        store.close()
