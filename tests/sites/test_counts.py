"""The GeoPackage store counts a filter on city and status from its kept counts (site_counts, kept by
triggers; sites.stores.gpkg.sql.count): the counts equal the memory store's (the reference) for every
such filter, follow every write, by this program or another, and are redone when they drifted."""

from __future__ import annotations

import pytest
from shapely.geometry import Point

from sites import build_query
from sites.stores import gpkg, open_store
from sites.stores.gpkg import sql
from tests import synthetic_stores

# filters on city and status only: counted from the kept counts
COUNTED = [
    {},  # every site but the retired ones
    {"include_retired": "true"},
    {"status": "idle"},
    {"status": "idle,partly_idle", "city": "青岛市"},
    {"city": "西安市"},
    {"filter": "status <> 'idle' OR city = '南京市'"},
    {"filter": "city LIKE '青%' AND NOT status IN ('operating', 'retired')"},
    {"filter": "CASEI(city) = CASEI('杭州市')"},
    {"filter": "status BETWEEN 'idle' AND 'planned'", "include_retired": "true"},
    {"filter": "city IS NULL"},
    {"filter": "status = 'planned' AND city = '不存在市'"},
]
# filters on more than that: counted from the sites
NOT_COUNTED = [
    {"status": "idle", "district": "市南区"},
    {"filter": "status = 'idle' AND gross_floor_area_m2 > 10000"},
    {"bbox": "120.30,36.04,120.42,36.10"},
    {"q": "厂"},
]


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    stores = synthetic_stores.twins(tmp_path_factory.mktemp("counts"), 400, seed=11)
    yield stores
    for store in stores:
        store.close()


def matched(store, params) -> int:
    return store.query(build_query({**params, "limit": "1"})).number_matched


@pytest.mark.parametrize("params", COUNTED + NOT_COUNTED)
def test_counts_equal_the_reference(twins, params):
    store, reference = twins
    assert matched(store, params) == matched(reference, params)


@pytest.mark.parametrize("params", COUNTED)
def test_a_filter_on_city_and_status_is_counted_from_the_kept_counts(params):
    q = build_query(params)
    assert q.filter is None or sql._on_counted_only(q.filter)


@pytest.mark.parametrize("params", NOT_COUNTED)
def test_any_other_filter_is_counted_from_the_sites(params):
    assert not sql._on_counted_only(build_query(params).filter)


def kept_counts_agree(store) -> bool:
    conn = gpkg.connect(store.path)
    try:
        return sql.counts_agree(conn)
    finally:
        conn.close()


def test_the_counts_follow_every_write(tmp_path):
    store = synthetic_stores.load(open_store(str(tmp_path / "s.gpkg"), create=True), 60, seed=2, surveys=False)
    try:
        assert kept_counts_agree(store)
        first, second = store.query(build_query({"limit": "2"})).sites
        with store.transaction() as tx:  # a status change, a move to another city, a retirement
            tx.put_site(first.replace(status="idle" if first.status != "idle" else "operating"))
            tx.put_site(second.replace(city="宁波市", district=None, district_adcode=None, geometry=Point(121.55, 29.87)))
        with store.transaction() as tx:
            tx.put_site(store.get(first.id).replace(status="retired"))
        assert kept_counts_agree(store)
        conn = gpkg.connect(store.path)  # another program: plain SQL on the sites table
        conn.execute("UPDATE sites SET status = 'idle' WHERE fid % 3 = 0")
        conn.execute("UPDATE sites SET city = '成都市' WHERE fid % 5 = 0")
        conn.execute("DELETE FROM sites WHERE fid % 7 = 0 AND fid NOT IN (SELECT fid FROM sites "
                     "WHERE id IN (SELECT site_id FROM surveys UNION SELECT site_id FROM units))")
        conn.close()
        assert kept_counts_agree(store)
        assert matched(store, {"status": "idle"}) == len([s for s in store.query(
            build_query({"limit": "1000"})).sites if s.status == "idle"])
    finally:
        store.close()


def test_counts_that_drifted_are_redone_when_the_store_is_opened(tmp_path):
    """INSERT OR REPLACE deletes the replaced row without firing delete triggers: the counts drift,
    and the next open counts the sites anew."""
    n, path = 30, tmp_path / "s.gpkg"
    store = synthetic_stores.load(open_store(str(path), create=True), n, seed=4, surveys=False)
    first = store.query(build_query({"limit": "1"})).sites[0]
    store.close()
    conn = gpkg.connect(path)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(sites)") if r[1] != "fid"]
    names = ", ".join(f'"{c}"' for c in columns)
    conn.execute(f"INSERT OR REPLACE INTO sites ({names}) SELECT {names} FROM sites WHERE id = ?", (first.id,))
    assert not sql.counts_agree(conn)
    conn.close()
    store = open_store(str(path))
    try:
        assert kept_counts_agree(store)
        assert matched(store, {"include_retired": "true"}) == n
    finally:
        store.close()


def test_a_replaced_row_never_gives_a_wrong_count_while_the_store_is_open(tmp_path):
    """A REPLACE by another program while the app runs: the kept counts no longer add up, so the
    store counts from the sites until they are put right (here by the next write)."""
    store = synthetic_stores.load(open_store(str(tmp_path / "s.gpkg"), create=True), 30, seed=4, surveys=False)
    first = store.query(build_query({"limit": "1"})).sites[0]
    try:
        want = {key: matched(store, params) for key, params in (("all", {}), ("idle", {"status": "idle"}))}
        conn = gpkg.connect(store.path)
        conn.execute("REPLACE INTO sites SELECT * FROM sites WHERE status = 'idle'")
        conn.close()
        assert {key: matched(store, params) for key, params in (("all", {}), ("idle", {"status": "idle"}))} == want
        with store.transaction() as tx:  # a write puts the kept counts right
            tx.put_site(store.get(first.id).replace(name_zh="改"))
        assert kept_counts_agree(store)
        assert matched(store, {"status": "idle"}) == want["idle"]
    finally:
        store.close()
