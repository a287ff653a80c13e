"""The upload pages: a dry run that lists every bad row and writes nothing, then a commit of all
rows or none, through the audit channel "upload", only within the editor's scope."""

import csv
import io
import os
import re
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sites import chinacrs
from sites.audit import ChangeFilter
from sites.errors import NotFound
from sites.stores import open_store
from tests.web.accounts import add_users, csrf_token, login
from web import create_app

HEADER = ["id", "name_zh", "city", "district", "district_adcode", "kind", "location_precision", "status",
          "data_status", "leasable_area_m2", "lon", "lat", "survey_date", "occupied_area_m2"]


def row(site_id, name="测试园区", district="市南区", adcode="370202", status="idle", lon="120.37", lat="36.06",
        survey_date="", occupied=""):
    return [site_id, name, "青岛市", district, adcode, "building", "building", status, "sample", "1000", lon, lat,
            survey_date, occupied]


def csv_bytes(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode("utf-8")


@pytest.fixture
def app(gpkg_path, tmp_path):
    with open_store(str(gpkg_path)) as store:
        add_users(store)
    return create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test",
                       "UPLOAD_DIR": str(tmp_path / "uploads")})


@pytest.fixture
def store(app):
    return app.extensions["get_store"]()


def uploads(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(p for p in root.iterdir()) if root.is_dir() else []


def upload(client, data: bytes, name="载体.csv", **fields):
    form = {"csrf_token": csrf_token(client, "/upload"), "file": (io.BytesIO(data), name), **fields}
    return client.post("/upload", data=form, content_type="multipart/form-data")


def commit_token(html: str) -> str:
    match = re.search(r'action="/upload/([^/"]+)/commit"', html)
    assert match, "no commit button"
    return match.group(1)


def commit(client, token, lang="en"):
    return client.post(f"/upload/{token}/commit?lang={lang}", data={"csrf_token": csrf_token(client, "/upload")},
                       headers={"Accept": "text/html"})


def count_changes(store) -> int:
    return store.changes(ChangeFilter(limit=None))[1]


def test_the_form_offers_the_templates_and_the_coordinate_systems(client):
    login(client, "editor")
    html = client.get("/upload").get_data(as_text=True)
    for link in ("/upload/template/zh.xlsx", "/upload/template/zh.csv", "/upload/template/en.xlsx",
                 "/upload/template/en.csv"):
        assert link in html
    for crs in ("WGS-84", "GCJ-02", "BD-09", "EPSG"):
        assert f'value="{crs}"' in html
    assert 'name="sheet"' in html and 'enctype="multipart/form-data"' in html


@pytest.mark.parametrize("lang, first", [("zh", "编号"), ("en", "id")])
def test_templates_download_in_chinese_and_english(client, lang, first):
    login(client, "editor")
    resp = client.get(f"/upload/template/{lang}.xlsx")
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.data)).active
    assert sheet.cell(1, 1).value == first
    text = client.get(f"/upload/template/{lang}.csv").data.decode("utf-8-sig")
    assert text.splitlines()[0].split(",")[0] == first


def test_dry_run_lists_every_bad_row_and_writes_nothing(client, app, store):
    login(client, "editor")
    before = count_changes(store)
    resp = upload(client, csv_bytes([row("qd-new-1"), row("qd-new-2", status="closed"), row("qd-new-3", lon="")]))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    table = html.split('id="bad-rows"')[1]
    cells = re.findall(r'<td class="num">(\d+)</td>', table)
    assert cells == ["3", "4"]  # the header is row 1
    assert "status" in table and "closed" in table
    assert "commit" not in html.split('id="bad-rows"')[1].lower().split("</table>")[1]
    assert count_changes(store) == before
    with pytest.raises(NotFound):
        store.get("qd-new-1")
    assert uploads(app) == []  # a file with bad rows is not kept


def test_dry_run_counts_then_commit_writes_every_row(client, app, store):
    login(client, "editor")
    rows = [row("qd-new-1", name="' OR 1=1 --"), row("qd-new-2", survey_date="2026-10-01", occupied="250"),
            row("qd-a", name="海聊制衣厂旧址(改)", status="idle", lon="120.38", lat="36.07")]
    resp = upload(client, csv_bytes(rows))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert re.search(r'id="count-new">2<', html) and re.search(r'id="count-changed">1<', html)
    assert re.search(r'id="count-surveys">1<', html)
    assert store.changes(ChangeFilter(channel="upload"))[1] == 0  # nothing written by the dry run
    saved = uploads(app)
    assert len(saved) == 1 and saved[0].name in html
    assert not any("载体" in p.name for p in saved[0].iterdir())  # never the client's name
    done = commit(client, commit_token(html))
    page = done.get_data(as_text=True)
    assert done.status_code == 200, page
    assert re.search(r'id="done-created">2<', page) and re.search(r'id="done-updated">1<', page)
    assert store.get("qd-new-1").name_zh == "' OR 1=1 --"
    assert store.get("qd-new-2").occupied_area_m2 == 250
    assert store.get("qd-a").name_zh == "海聊制衣厂旧址(改)"
    assert uploads(app) == []  # deleted once committed
    batch = re.search(r'href="/changes\?batch=([0-9a-f]+)"', page).group(1)
    assert store.changes(ChangeFilter(batch=batch))[1] == 4


def test_one_audit_row_per_changed_record_all_in_one_upload_batch(client, store):
    login(client, "editor")
    html = upload(client, csv_bytes([row("qd-new-1"), row("qd-new-2", survey_date="2026-10-01", occupied="250"),
                                     row("qd-b", name="春峰里", status="partly_idle", lon="120.36", lat="36.06")]))
    before = count_changes(store)
    commit(client, commit_token(html.get_data(as_text=True)))
    changes, total = store.changes(ChangeFilter(channel="upload", limit=None))
    # two new sites, a survey, and qd-b (its kind and location precision differ from the canonical record)
    assert total == 4 == count_changes(store) - before
    assert sorted((c.action, c.site_id) for c in changes) == [
        ("create", "qd-new-1"), ("create", "qd-new-2"), ("survey", "qd-new-2"), ("update", "qd-b")]
    assert {c.user for c in changes} == {"editor"} and len({c.batch for c in changes}) == 1


def test_a_file_with_one_bad_row_commits_nothing(client, app, store):
    login(client, "admin")
    before = count_changes(store)
    html = upload(client, csv_bytes([row("qd-new-1"), row("qd-new-2"), row("qd-new-3", lat="999")]))
    text = html.get_data(as_text=True)
    assert 'id="commit-form"' not in text and 'id="bad-rows"' in text
    assert count_changes(store) == before
    assert uploads(app) == []


def test_a_store_refusal_at_commit_shows_the_rows_and_writes_nothing(client, store):
    login(client, "admin")
    surveys = csv_bytes([["qd-a", "2026-10-01", "4000", "100", "test", "sample"],
                         ["nowhere-1", "2026-10-01", "100", "10", "test", "sample"]],
                        header=["site_id", "survey_date", "leasable_area_m2", "occupied_area_m2", "source",
                                "data_status"])
    html = upload(client, surveys, name="surveys.csv").get_data(as_text=True)
    before = count_changes(store)
    resp = commit(client, commit_token(html))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'id="refused"' in text and "nowhere-1" in text
    assert count_changes(store) == before
    assert store.get("qd-a").survey_date.isoformat() == "2024-06-01"


def test_gcj02_positions_are_converted_to_wgs84(client, store):
    login(client, "editor")
    html = upload(client, csv_bytes([row("qd-gcj", lon="120.3800", lat="36.0700")]), crs="GCJ-02")
    commit(client, commit_token(html.get_data(as_text=True)))
    site = store.get("qd-gcj")
    lon, lat = chinacrs.gcj02_to_wgs84(120.38, 36.07)
    assert site.lon == pytest.approx(lon, abs=1e-7) and site.lat == pytest.approx(lat, abs=1e-7)
    assert abs(site.lon - 120.38) > 1e-3  # the offset was removed


def test_an_epsg_code_is_accepted_and_a_bad_one_named(client):
    login(client, "editor")
    ok = upload(client, csv_bytes([row("qd-new-1")]), crs="EPSG", epsg="4490")
    assert ok.status_code == 200 and 'id="commit-form"' in ok.get_data(as_text=True)
    bad = upload(client, csv_bytes([row("qd-new-1")]), crs="EPSG", epsg="abc")
    assert bad.status_code == 400 and "EPSG" in bad.get_data(as_text=True)


def test_an_editor_may_not_upload_sites_outside_their_scope(client, app, store):
    login(client, "editor")  # 青岛市/市南区 only
    before = count_changes(store)
    rows = [row("qd-new-1"),  # 市南区: allowed
            row("qd-new-2", district="李沧区", adcode="370213", lon="120.43", lat="36.16"),  # new, outside
            row("qd-a", district="市北区", adcode="370203", lon="120.38", lat="36.07"),  # moved out of the scope
            row("qd-c", district="李沧区", adcode="370213", lon="120.43", lat="36.16")]  # stored outside
    resp = upload(client, csv_bytes(rows))
    html = resp.get_data(as_text=True)
    table = html.split('id="bad-rows"')[1]
    assert re.findall(r'<td class="num">(\d+)</td>', table) == ["3", "4", "5"]
    assert "李沧区" in table and "市北区" in table
    assert 'id="commit-form"' not in html and uploads(app) == []
    assert count_changes(store) == before


def test_an_editor_may_not_add_surveys_to_sites_outside_their_scope(client, store):
    login(client, "editor")
    surveys = csv_bytes([["qd-c", "2026-10-01", "30000", "100", "test", "sample"]],
                        header=["site_id", "survey_date", "leasable_area_m2", "occupied_area_m2", "source",
                                "data_status"])
    html = upload(client, surveys, name="surveys.csv").get_data(as_text=True)
    assert 'id="bad-rows"' in html and "qd-c" in html and 'id="commit-form"' not in html


def test_the_scope_is_checked_again_at_commit(client, app, store):
    """A file checked by an editor in scope is refused if the site moved out of the scope meanwhile."""
    login(client, "editor")
    html = upload(client, csv_bytes([row("qd-a", name="新名字", lon="120.38", lat="36.07")])).get_data(as_text=True)
    token = commit_token(html)
    from sites.audit import Actor
    with store.transaction(Actor("admin", "cli")) as tx:
        tx.put_site(store.get("qd-a").replace(district="市北区", district_adcode="370203"))
    before = count_changes(store)
    resp = commit(client, token)
    assert resp.status_code == 400 and "市北区" in resp.get_data(as_text=True)
    assert count_changes(store) == before and store.get("qd-a").name_zh == "海聊制衣厂旧址"


@pytest.mark.parametrize("method", ["get", "post"])
def test_viewers_are_refused_and_anonymous_users_sent_to_sign_in(client, method, store):
    before = count_changes(store)
    data = {"csrf_token": csrf_token(client, "/login")} if method == "post" else None
    anonymous = getattr(client, method)("/upload", data=data, headers={"Accept": "text/html"})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(client, "viewer")
    data = {"csrf_token": csrf_token(client, "/?f=html"), "file": (io.BytesIO(csv_bytes([row("qd-new-1")])), "a.csv")}
    resp = client.get("/upload") if method == "get" else client.post("/upload", data=data,
                                                                    content_type="multipart/form-data")
    assert resp.status_code == 403
    assert client.get("/upload/template/zh.csv").status_code == 403
    assert count_changes(store) == before


def test_an_upload_without_the_csrf_token_is_refused(client, app):
    login(client, "editor")
    resp = client.post("/upload", data={"file": (io.BytesIO(csv_bytes([row("qd-new-1")])), "a.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400
    assert uploads(app) == []


def test_a_commit_without_the_csrf_token_is_refused(client, store):
    login(client, "editor")
    token = commit_token(upload(client, csv_bytes([row("qd-new-1")])).get_data(as_text=True))
    assert client.post(f"/upload/{token}/commit").status_code == 400
    with pytest.raises(NotFound):
        store.get("qd-new-1")


def test_committing_an_unknown_token_is_a_clear_404(client):
    login(client, "editor")
    for token in ("no-such-upload-token-0000", "../../etc", "x"):
        resp = commit(client, token)
        assert resp.status_code == 404
    assert "upload the file again" in commit(client, "no-such-upload-token-0000").get_data(as_text=True)


def test_an_upload_older_than_a_day_has_expired(client, app, store):
    login(client, "editor")
    token = commit_token(upload(client, csv_bytes([row("qd-new-1")])).get_data(as_text=True))
    folder = uploads(app)[0]
    old = time.time() - 2 * 86400
    os.utime(folder, (old, old))
    resp = commit(client, token)
    assert resp.status_code == 404 and "expired" in resp.get_data(as_text=True)
    assert "已过期" in commit(client, token, lang="zh").get_data(as_text=True)
    assert uploads(app) == []
    with pytest.raises(NotFound):
        store.get("qd-new-1")


def test_only_the_uploader_may_commit(client, app, store):
    login(client, "editor")
    token = commit_token(upload(client, csv_bytes([row("qd-new-1")])).get_data(as_text=True))
    other = app.test_client()
    login(other, "city_editor")
    assert commit(other, token).status_code == 404
    with pytest.raises(NotFound):
        store.get("qd-new-1")


def test_a_file_too_large_gets_a_clear_413(gpkg_path, tmp_path):
    app = create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test", "UPLOAD_MAX_MB": 1,
                      "UPLOAD_DIR": str(tmp_path / "uploads")})
    with open_store(str(gpkg_path)) as s:
        add_users(s)
    client = app.test_client()
    login(client, "editor")
    resp = upload(client, b"id,name_zh\n" + b"x" * (2 * 1024 * 1024), name="big.csv")
    assert resp.status_code == 413
    assert "UPLOAD_MAX_MB" in resp.get_data(as_text=True) and "1 MB" in resp.get_data(as_text=True)


def test_an_unsupported_file_type_is_named(client, app):
    login(client, "editor")
    resp = upload(client, b"hello", name="notes.docx")
    assert resp.status_code == 400 and "notes.docx" in resp.get_data(as_text=True)
    assert uploads(app) == []


def test_markup_in_a_bad_file_is_shown_as_text(client):
    login(client, "editor")
    resp = upload(client, csv_bytes([row("qd-x", status="<script>alert(1)</script>")]))
    html = resp.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
