"""The GeoPackage store's file is an ordinary GeoPackage that GDAL reads, and survives a killed writer."""

import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pyogrio
import pytest

from sites.audit import Actor

from sites.query import Query
from sites.stores import open_store
from sites.stores.base import PROPERTIES
from tests import canonical
from tests.conftest import REPO, require_service


@pytest.fixture
def gpkg(tmp_path):
    path = tmp_path / "inventory.gpkg"
    store = canonical.load(open_store(str(path), create=True))
    yield path, store
    store.close()


def test_gdal_sees_the_layers_and_features_the_store_holds(gpkg):
    path, store = gpkg
    layers = dict(pyogrio.list_layers(path))
    assert {"sites", "districts", "surveys", "units"} <= set(layers)
    df = pyogrio.read_dataframe(path, layer="sites")
    assert sorted(df["id"]) == sorted(s.id for s in store.query(Query()).sites)  # retired ones too
    assert df.crs.to_epsg() == 4326
    row = df.set_index("id").loc["qd-b"]
    assert (row["name_zh"], row["occupied_area_m2"]) == ("春峰里", 6000)


def test_gdal_uses_the_spatial_index(gpkg):
    path, _ = gpkg
    df = pyogrio.read_dataframe(path, layer="sites", bbox=(120.3, 36.0, 120.4, 36.1))
    assert sorted(df["id"]) == ["qd-a", "qd-b", "qd-d", "qd-f"]
    info = pyogrio.read_info(path, layer="sites")
    assert info["capabilities"]["fast_spatial_filter"]


def test_surveys_and_units_are_tables_gdal_reads(gpkg):
    path, _ = gpkg
    surveys = pyogrio.read_dataframe(path, layer="surveys", read_geometry=False)
    assert len(surveys) == len(canonical.SURVEYS)
    units = pyogrio.read_dataframe(path, layer="units", read_geometry=False)
    assert sorted(units["unit_label"]) == ["101", "201", "301"]


def test_ogrinfo_opens_the_file(gpkg):
    path, store = gpkg
    if shutil.which("ogrinfo") is None:
        require_service("ogrinfo", "install Debian's gdal-bin")
    out = subprocess.run(["ogrinfo", "-ro", "-so", str(path), "sites"], capture_output=True, text=True, check=True)
    assert "Feature Count: 9" in out.stdout
    assert "WGS 84" in out.stdout
    out = subprocess.run(["ogrinfo", "-ro", "-q", str(path), "-sql", "SELECT name_zh FROM sites WHERE id = 'qd-b'"],
                         capture_output=True, text=True, check=True)
    assert "春峰里" in out.stdout


def test_file_is_a_valid_sqlite_geopackage(gpkg):
    path, _ = gpkg
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert conn.execute("SELECT COUNT(*) FROM rtree_sites_geom").fetchone()[0] == 9


def test_a_plain_sqlite_write_hits_the_rtree_trap(gpkg):
    """Why the store registers ST_IsEmpty & co on every connection (STYLE.md, known traps)."""
    path, _ = gpkg
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.OperationalError, match="ST_IsEmpty|ST_MinX"):
        conn.execute("UPDATE sites SET geom = geom WHERE id = 'qd-a'")


def test_a_killed_writer_leaves_the_file_unchanged(gpkg, tmp_path):
    path, store = gpkg
    before = [(s.id, s.version) for s in store.query(Query(limit=None)).sites]
    store.close()
    script = textwrap.dedent(f"""
        import sys, time
        from shapely.geometry import Point
        from sites.stores import open_store
        from tests import canonical
        store = open_store({str(path)!r})
        with store.transaction() as tx:
            for i in range(3000):
                tx.put_site(canonical.SITES[0].replace(id=f"qd-x{{i}}", geometry=Point(120.3 + i * 1e-5, 36.07)))
            tx.put_site(store.get("qd-a").replace(status="operating"))
            print("writing", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reopened = open_store(str(path))
    try:
        assert [(s.id, s.version) for s in reopened.query(Query(limit=None)).sites] == before
        assert reopened.get("qd-a").status == "idle"
        assert len(pyogrio.read_dataframe(path, layer="sites")) == 9
    finally:
        reopened.close()


def test_a_file_of_another_schema_version_is_refused_clearly(gpkg):
    path, store = gpkg
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE sites_meta SET value = '0' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    from sites.errors import StoreError
    with pytest.raises(StoreError, match="schema version 0"):
        open_store(str(path))


def test_a_store_of_schema_version_4_is_brought_up_to_date_in_place(gpkg):
    """A store written before accounts and the audit trail (version 4) opens with its data kept."""
    path, store = gpkg
    before = [(s.id, s.version, s.vacancy_rate) for s in store.query(Query(limit=None)).sites]
    store.close()
    conn = sqlite3.connect(path)  # make it a version-4 file: no accounts, no audit trail, no contact column
    for statement in (*_WITHOUT_RENDERINGS, "DROP TABLE changes", "DROP TABLE users", "DROP INDEX sites_status_gross",
                      "DROP INDEX sites_status_leasable", "ALTER TABLE sites DROP COLUMN operator_contact",
                      "DELETE FROM gpkg_contents WHERE table_name = 'changes'",
                      "UPDATE sites_meta SET value = '4' WHERE key = 'schema_version'"):
        conn.execute(statement)
    conn.commit()
    conn.close()
    migrated = open_store(str(path))
    try:
        assert [(s.id, s.version, s.vacancy_rate) for s in migrated.query(Query(limit=None)).sites] == before
        with migrated.transaction(Actor("alice", "form")) as tx:
            tx.put_site(migrated.get("qd-a").replace(operator_contact="王 0532"))
        assert migrated.get("qd-a").operator_contact == "王 0532"
        assert migrated.changes()[0][0].user == "alice"
        assert len(pyogrio.read_dataframe(path, layer="sites")) == len(before)  # GDAL still reads it
    finally:
        migrated.close()


#: what makes a store a version-5 file: no kept renderings, no kept counts
_WITHOUT_RENDERINGS = tuple(f"DROP TRIGGER {table}_{event}" for table in ("site_features", "site_counts")
                            for event in ("insert", "update", "delete")) + \
    ("DROP TABLE site_features", "DROP TABLE site_counts")


def test_a_store_of_schema_version_5_gets_its_renderings_and_counts_when_opened(gpkg):
    path, store = gpkg
    q = Query(limit=None)
    before = store.query_geojson(q, PROPERTIES).features
    store.close()
    conn = sqlite3.connect(path)
    for statement in (*_WITHOUT_RENDERINGS, "UPDATE sites_meta SET value = '5' WHERE key = 'schema_version'"):
        conn.execute(statement)
    conn.commit()
    conn.close()
    migrated = open_store(str(path))
    try:
        assert migrated.query_geojson(q, PROPERTIES).features == before
        conn = sqlite3.connect(path)
        kept = conn.execute("SELECT count(*) FROM site_features").fetchone()[0]
        assert kept == conn.execute("SELECT count(*) FROM sites").fetchone()[0] > 0
        assert conn.execute("SELECT sum(n) FROM site_counts").fetchone()[0] == kept
        conn.close()
    finally:
        migrated.close()


def test_a_file_that_is_not_an_inventory_is_refused_clearly(tmp_path):
    from sites.errors import StoreError
    path = tmp_path / "other.gpkg"
    path.write_text("not a database")
    with pytest.raises(StoreError, match="not an inventory"):
        open_store(str(path))
