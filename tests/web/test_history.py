"""The audit pages: a site's history, the recent changes with filters and paging, the CSV log;
confidential values hidden from those who may not see them; anonymous users sent to sign in."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sites.audit import Actor, ChangeFilter
from sites.stores import open_store
from tests.web.accounts import add_users, csrf_token, login
from web import create_app

TODAY = date.today().isoformat()
LOCAL_TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
SCRIPT = "<script>alert(1)</script>"


def make_app(gpkg_path, tmp_path, **config):
    return create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test",
                       "UPLOAD_DIR": str(tmp_path / "uploads"), **config})


@pytest.fixture
def app(gpkg_path, tmp_path):
    """The canonical inventory, then one write through each channel: the command line (qd-a's rent
    and contact, qd-d's units), the survey form (qd-a) and the upload page (qd-b's name)."""
    with open_store(str(gpkg_path)) as store:
        add_users(store)
        with store.transaction(Actor.command_line("alice")) as tx:
            tx.put_site(tx.get("qd-a").replace(rent_cny_per_m2_day=2.5, operator_contact="王经理 13800000000",
                                               address_zh=SCRIPT))
            units = store.units("qd-d")
            tx.set_units("qd-d", [replace(units[0], tenant="乙公司"), *units[1:]])
    app = make_app(gpkg_path, tmp_path)
    client = app.test_client()
    login(client, "editor")
    token = csrf_token(client, "/sites/qd-a/survey")
    resp = client.post("/sites/qd-a/survey", data={
        "csrf_token": token, "survey_date": TODAY, "leasable_area_m2": "4000", "occupied_area_m2": "3000",
        "tenant_count": "7", "source": "实地调查", "data_status": "verified"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    body = "id,name_zh,city,district,kind,location_precision,status,data_status,lon,lat\n" \
           "qd-b,春峰里(新),青岛市,市南区,complex,street,partly_idle,sample,120.36,36.06\n"
    form = {"csrf_token": csrf_token(client, "/upload"), "file": (io.BytesIO(body.encode()), "b.csv")}
    html = client.post("/upload", data=form, content_type="multipart/form-data").get_data(as_text=True)
    token = re.search(r'action="/upload/([^/"]+)/commit"', html).group(1)
    assert client.post(f"/upload/{token}/commit", data={"csrf_token": csrf_token(client, "/upload")}).status_code == 200
    return app


def signed_in(app, name):
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def page(client, url) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.get_data(as_text=True)


def entries(html) -> list[str]:
    return re.findall(r'<article class="change"[^>]*>.*?</article>', html, re.S)


def heads(html) -> list[tuple[str, str, str]]:
    """(site, channel, action) of each entry, in page order."""
    return re.findall(r'<article class="change" id="change-\d+" data-action="(\w+)" data-channel="(\w+)">', html)


def test_a_site_history_lists_every_change_newest_first_with_before_and_after(app):
    html = page(signed_in(app, "viewer"), "/sites/qd-a/history?lang=zh")
    assert heads(html) == [("survey", "form"), ("update", "cli"), ("survey", "cli"), ("create", "cli")]
    form, cli = entries(html)[:2]
    assert "editor" in form and "网页表单" in form and "入驻调查" in form
    assert re.search(r"已用面积\(m²\)</td><td class=\"before\">—</td><td>→</td><td class=\"after\">3000", form)
    assert "alice" in cli and "命令行" in cli
    rent = r'租金\(元/㎡·天\)</td><td class="before">1.5</td><td>→</td><td class="after">2.5</td>'
    assert re.search(rent, cli)
    assert re.search(r'<time datetime="[^"]+ UTC" title="[^"]+ UTC">\d{4}-\d\d-\d\d \d\d:\d\d</time>', form)


def test_times_are_shown_in_china_standard_time_with_utc_in_the_title(app):
    store = app.extensions["get_store"]()
    change = store.changes(ChangeFilter(site_id="qd-a", limit=1))[0][0]
    local = change.at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    utc = change.at.strftime("%Y-%m-%d %H:%M:%S UTC")
    html = page(signed_in(app, "viewer"), "/sites/qd-a/history")
    assert f'title="{utc}">{local}</time>' in html


def test_values_from_data_are_shown_as_text(app):
    html = page(signed_in(app, "viewer"), "/sites/qd-a/history")
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_units_are_shown_one_row_a_changed_unit(app):
    html = page(signed_in(app, "viewer"), "/sites/qd-d/history?lang=en")
    units = entries(html)[0]
    assert "Unit 1F/101" in units and "甲公司" in units and "乙公司" in units
    assert "2F/201" not in units  # unchanged units are left out


def test_the_changes_page_shows_every_channel(app):
    html = page(signed_in(app, "viewer"), "/changes?lang=en")
    found = heads(html)
    assert ("survey", "form") in found and ("update", "cli") in found and ("update", "upload") in found
    upload = next(e for e in entries(html) if 'data-channel="upload"' in e)
    assert "春峰里" in upload and "春峰里(新)" in upload and "Web upload" in upload


@pytest.mark.parametrize("query, expected", [
    ("channel=upload", {("update", "upload")}),
    ("user=alice", {("update", "cli"), ("units", "cli")}),
    ("action=survey&user=editor", {("survey", "form")}),
    ("site_id=qd-b&channel=upload", {("update", "upload")}),
    ("city=西安市", {("create", "cli"), ("survey", "cli")}),
    (f"since={LOCAL_TODAY + timedelta(days=1)}", set()),
    (f"until={LOCAL_TODAY - timedelta(days=1)}", set()),
    (f"since={LOCAL_TODAY}&until={LOCAL_TODAY}&channel=form", {("survey", "form")}),
])
def test_filters(app, query, expected):
    html = page(signed_in(app, "viewer"), f"/changes?{query}")
    assert set(heads(html)) == expected


def test_the_city_filter_keeps_only_that_citys_sites(app):
    html = page(signed_in(app, "viewer"), "/changes?city=西安市")
    assert set(re.findall(r'href="/sites/([\w-]+)/history"', html)) == {"xa-g"}


def test_a_batch_link_lists_the_changes_of_one_upload(app):
    store = app.extensions["get_store"]()
    batch = store.changes(ChangeFilter(channel="upload", limit=1))[0][0].batch
    html = page(signed_in(app, "viewer"), f"/changes?batch={batch}")
    assert heads(html) == [("update", "upload")]


def test_paging(app, monkeypatch):
    import web.history
    monkeypatch.setattr(web.history, "PAGE_SIZE", 3)
    client = signed_in(app, "viewer")
    first, second = page(client, "/changes?channel=cli"), page(client, "/changes?channel=cli&page=2")
    ids = [re.findall(r'id="change-(\d+)"', h) for h in (first, second)]
    assert len(ids[0]) == 3 and ids[0][0] > ids[0][-1] and not set(ids[0]) & set(ids[1])
    assert 'rel="next"' in first and "page=2" in first and "channel=cli" in first
    assert 'rel="prev"' in second


@pytest.mark.parametrize("query, parameter", [("since=yesterday", "since"), ("channel=fax", "channel"),
                                              ("page=0", "page"), ("action=user", "action")])
def test_a_bad_filter_is_a_400_naming_it(app, query, parameter):
    resp = signed_in(app, "viewer").get(f"/changes?{query}", headers={"Accept": "text/html"})
    assert resp.status_code == 400 and parameter in resp.get_data(as_text=True)


def test_account_changes_are_listed_for_administrators_only(app):
    assert "user" not in {a for a, _c in heads(page(signed_in(app, "editor"), "/changes"))}
    assert ("user", "cli") in heads(page(signed_in(app, "admin"), "/changes?action=user"))


def test_the_csv_log_has_a_bom_and_one_line_per_changed_field(app):
    resp = signed_in(app, "viewer").get("/changes.csv?site_id=qd-a&user=alice")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert rows[0] == ["id", "at_utc", "user", "channel", "action", "site_id", "subject", "field", "before", "after"]
    fields = {r[7]: (r[8], r[9]) for r in rows[1:]}
    assert fields == {"rent_cny_per_m2_day": ("1.5", "2.5"), "operator_contact": ("", "王经理 13800000000"),
                      "address_zh": ("延安三路109号", SCRIPT)}
    assert {(r[2], r[3], r[4], r[5]) for r in rows[1:]} == {("alice", "cli", "update", "qd-a")}
    assert len({r[0] for r in rows[1:]}) == 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[1][1])


def test_the_csv_log_follows_the_filters(app):
    text = signed_in(app, "viewer").get("/changes.csv?channel=upload").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert rows and {(r[3], r[5]) for r in rows} == {("upload", "qd-b")}
    assert ("name_zh", "春峰里", "春峰里(新)") in {(r[7], r[8], r[9]) for r in rows}


@pytest.fixture
def strict(app, gpkg_path, tmp_path):
    """The same inventory with confidential fields for editors and above only."""
    return make_app(gpkg_path, tmp_path, CONFIDENTIAL_ROLE="editor")


@pytest.mark.parametrize("url", ["/sites/qd-a/history", "/changes?user=alice", "/sites/qd-d/history",
                                 "/changes.csv?user=alice", "/changes.csv?site_id=qd-d"])
def test_confidential_values_are_hidden_from_those_not_allowed(strict, url):
    viewer = signed_in(strict, "viewer").get(url + ("&" if "?" in url else "?") + "lang=en")
    text = viewer.data.decode("utf-8-sig")
    for secret in ("2.5", "1.5", "13800000000", "甲公司", "乙公司"):
        assert secret not in text, (url, secret)
    assert re.search(r'>hidden<|,hidden\b|· hidden ·|"hidden"', text)
    editor = signed_in(strict, "editor").get(url).data.decode("utf-8-sig")
    assert "13800000000" in editor or "乙公司" in editor


def test_hidden_is_said_in_chinese(strict):
    html = page(signed_in(strict, "viewer"), "/sites/qd-a/history?lang=zh")
    assert "保密" in html and "13800000000" not in html


@pytest.mark.parametrize("url", ["/changes", "/changes.csv", "/sites/qd-a/history"])
def test_anonymous_users_are_sent_to_sign_in(app, url):
    resp = app.test_client().get(url, headers={"Accept": "text/html"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_the_history_of_an_unknown_site_is_a_404(app):
    assert signed_in(app, "viewer").get("/sites/nowhere/history", headers={"Accept": "text/html"}).status_code == 404


def test_units_tenant_hidden_but_the_rest_shown(strict):
    html = page(signed_in(strict, "viewer"), "/sites/qd-d/history?lang=en")
    assert "Unit 1F/101" in html and "500 m² · Leased · hidden · 2024-05-01" in html



@pytest.mark.parametrize("query", ["since=0001-01-01", "until=0001-01-01", "page=99999999999999999999"])
def test_out_of_range_filters_are_a_400_naming_the_parameter(app, query):
    """Found in review: these were 500s."""
    from tests.web.accounts import login
    c = app.test_client()
    login(c, "admin")
    for path in ("/changes", "/changes.csv") if "page" not in query else ("/changes",):  # the CSV is not paged
        resp = c.get(f"{path}?{query}", headers={"Accept": "application/json"})
        assert resp.status_code == 400 and query.split("=")[0] in resp.get_json()["description"] + \
            str(resp.get_json().get("code", ""))
