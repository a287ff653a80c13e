"""The editing forms (web/editing.py) through the Flask test client against a real GeoPackage:
create, edit, survey, units, retire; errors next to the field in Chinese and English; stale
edits refused; permissions and CSRF; hostile text stored verbatim and shown escaped; one
audit row a write."""

from __future__ import annotations

import math
import re
from datetime import date

import pytest

from sites import chinacrs
from sites.audit import ChangeFilter
from sites.stores import open_store
from tests.web.accounts import add_users, csrf_token, login

TODAY = date.today().isoformat()
POINT = (120.385, 36.065)  # WGS-84, in 市南区 (tests/canonical.py)
SCRIPT, SQL = "<script>alert(1)</script>", "' OR 1=1 --"


@pytest.fixture
def store(gpkg_path):
    s = open_store(str(gpkg_path))
    add_users(s)
    yield s
    s.close()


def signed_in(client, name):
    assert login(client, name).status_code == 302
    return client


def audit(store, **kw):
    changes, total = store.changes(ChangeFilter(limit=None, **kw))
    return changes


def post(client, path, data, lang=None):
    """A form post with the page's CSRF token, as a browser sends it."""
    html = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    stamp = re.search(r'name="units_stamp" value="([^"]*)"', html)  # the units form's version
    if stamp and "units_stamp" not in data:
        data = {**data, "units_stamp": stamp.group(1)}
    url = f"{path}?lang={lang}" if lang else path
    return client.post(url, data={**data, "csrf_token": token}, headers={"Accept": "text/html"})


def new_site(**kw):
    data = {"id": "qd-new-lab", "name_zh": "新实验楼", "name_en": "New Lab", "city": "青岛市", "district": "市南区",
            "district_adcode": "370202", "kind": "building", "location_precision": "building", "status": "idle",
            "data_status": "reported", "gross_floor_area_m2": "2,000", "leasable_area_m2": "1500",
            "aliases": "甲;乙", "industries": "软件；集成电路", "in_historic_area": "false", "first_added": TODAY,
            "last_updated": TODAY, "lon": str(POINT[0]), "lat": str(POINT[1]), "crs": "WGS-84"}
    data.update(kw)
    return data


def metres(a, b):
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians(a[1]))
    dy = (a[1] - b[1]) * 110_540
    return math.hypot(dx, dy)


# --- create
@pytest.mark.parametrize("crs", ["WGS-84", "GCJ-02", "BD-09"])
def test_create_by_coordinates_stores_wgs84(client, store, crs):
    lon, lat = chinacrs.from_wgs84(*POINT, crs)
    before = len(audit(store))
    form = new_site(lon=repr(float(lon)), lat=repr(float(lat)), crs=crs)
    resp = post(signed_in(client, "editor"), "/sites/new", form)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/sites/qd-new-lab")
    site = store.get("qd-new-lab")
    assert metres((site.geometry.x, site.geometry.y), POINT) < 1
    assert site.aliases == ("甲", "乙") and site.industries == ("软件", "集成电路")
    assert site.gross_floor_area_m2 == 2000 and site.in_historic_area is False
    changes = audit(store)
    assert len(changes) == before + 1
    c = changes[0]
    assert (c.user, c.channel, c.action, c.site_id, c.before) == ("editor", "form", "create", "qd-new-lab", None)
    assert c.after["name_zh"] == "新实验楼" and c.after["geometry"].startswith("POINT")


def test_gcj02_coordinates_are_not_stored_as_they_are(client, store):
    lon, lat = chinacrs.from_wgs84(*POINT, "GCJ-02")
    post(signed_in(client, "editor"), "/sites/new", new_site(lon=repr(float(lon)), lat=repr(float(lat)), crs="GCJ-02"))
    site = store.get("qd-new-lab")
    assert metres((site.geometry.x, site.geometry.y), (float(lon), float(lat))) > 100


def test_create_proposes_an_id_from_city_and_name(client, store):
    resp = post(signed_in(client, "editor"), "/sites/new", new_site(id="", name_en="Old Tannery"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/sites/qd-old-tannery")
    assert store.get("qd-old-tannery").name_zh == "新实验楼"


def test_a_taken_id_is_a_field_error(client, store):
    before = len(audit(store))
    resp = post(signed_in(client, "editor"), "/sites/new", new_site(id="qd-a"), lang="en")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert re.search(r'id="error-id"[^>]*>ID: the id qd-a is already taken', html)
    assert store.get("qd-a").name_zh == "海聊制衣厂旧址" and len(audit(store)) == before


def test_the_form_loads_leaflet_from_the_app(client, store):
    html = signed_in(client, "editor").get("/sites/new").get_data(as_text=True)
    assert '<script src="/vendor/leaflet.js">' in html and 'href="/vendor/leaflet.css"' in html
    assert "placepicker.js" in html
    # nothing from another host (a random CSRF token may well contain "cdn": look at the addresses)
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)
    assert client.get("/static/js/placepicker.js").status_code == 200
    assert '<option value="GCJ-02"' in html and '<option value="BD-09"' in html


# --- errors next to the field, in both languages, nothing written
@pytest.mark.parametrize("lang, expected", [
    ("zh", ["名称：必填", "层数：abc 不是数字", "位置：请给出位置"]),
    ("en", ["Chinese name: is required", "Floors: abc is not a number", "Position: give the position"]),
])
def test_field_errors_are_named_in_the_language(client, store, lang, expected):
    before, sites = len(audit(store)), len(store.all_sites())
    form = new_site(name_zh="", floors="abc", lon="", lat="")
    resp = post(signed_in(client, "editor"), "/sites/new", form, lang=lang)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    for text in expected:
        assert text in html
    assert 'id="error-name_zh"' in html and 'id="error-floors"' in html and 'id="error-position"' in html
    assert 'value="新实验楼"' not in html and 'value="New Lab"' in html  # the user's values are kept
    assert len(audit(store)) == before and len(store.all_sites()) == sites


def test_store_validation_errors_name_the_field(client, store):
    before = len(audit(store))
    resp = post(signed_in(client, "editor"), "/sites/new", new_site(leasable_area_m2="3000"), lang="en")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert re.search(r'id="error-leasable_area_m2"[^>]*>Leasable area\(m²\): the leasable area 3000 m² exceeds', html)
    assert len(audit(store)) == before


def test_a_position_outside_the_city_is_an_error(client, store):
    resp = post(signed_in(client, "editor"), "/sites/new", new_site(lon="116.4", lat="39.9"), lang="zh")
    assert resp.status_code == 400 and "位置不在青岛市范围内" in resp.get_data(as_text=True)


# --- edit
def test_edit_saves_and_records_one_update(client, store):
    c = signed_in(client, "editor")
    html = c.get("/sites/qd-a/edit").get_data(as_text=True)
    version = int(re.search(r'name="version" value="(\d+)"', html)[1])
    assert 'value="海聊制衣厂旧址"' in html and 'value="老厂房"' in html
    form = _form_values(html)
    form.update(name_zh="海聊新址", floors="4")
    before = len(audit(store))
    resp = post(c, "/sites/qd-a/edit", form)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/sites/qd-a")
    site = store.get("qd-a")
    assert site.name_zh == "海聊新址" and site.floors == 4 and site.version == version + 1
    assert (site.geometry.x, site.geometry.y) == (120.38, 36.07)  # not moved
    changes = audit(store)
    assert len(changes) == before + 1
    c0 = changes[0]
    assert (c0.user, c0.channel, c0.action, c0.site_id, c0.version) == ("editor", "form", "update", "qd-a", version + 1)
    assert c0.before == {"name_zh": "海聊制衣厂旧址", "floors": None, "last_updated": "2024-06-02"}
    assert c0.after == {"name_zh": "海聊新址", "floors": 4, "last_updated": TODAY}


def test_edit_moves_a_point_by_bd09_coordinates(client, store):
    c = signed_in(client, "editor")
    form = _form_values(c.get("/sites/qd-a/edit").get_data(as_text=True))
    lon, lat = chinacrs.from_wgs84(*POINT, "BD-09")
    form.update(lon=repr(float(lon)), lat=repr(float(lat)), crs="BD-09")
    assert post(c, "/sites/qd-a/edit", form).status_code == 302
    site = store.get("qd-a")
    assert metres((site.geometry.x, site.geometry.y), POINT) < 1
    assert audit(store)[0].after["geometry"].startswith("POINT (120.385")


def test_a_polygon_is_kept_without_new_coordinates(client, store):
    c = signed_in(client, "admin")
    html = c.get("/sites/nj-h/edit").get_data(as_text=True)
    assert 'id="polygon-note"' in html
    form = _form_values(html)
    assert form["lon"] == "" and form["lat"] == ""
    form["name_en"] = "Qinhuai Silicon Lane"
    assert post(c, "/sites/nj-h/edit", form).status_code == 302
    site = store.get("nj-h")
    assert site.geometry.geom_type == "Polygon" and site.name_en == "Qinhuai Silicon Lane"
    assert "geometry" not in audit(store)[0].after


def test_a_stale_edit_is_refused_with_what_changed_meanwhile(client, store):
    c = signed_in(client, "editor")
    form = _form_values(c.get("/sites/qd-a/edit").get_data(as_text=True))
    from sites.audit import Actor
    with store.transaction(Actor("city_editor", "api")) as tx:  # someone else saves first
        tx.put_site(tx.get("qd-a").replace(name_en="Renamed Meanwhile"))
    current = store.get("qd-a")
    before = len(audit(store))
    form.update(name_zh="我的修改")
    resp = post(c, "/sites/qd-a/edit", form, lang="en")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and 'id="conflict"' in html
    table = html[html.index('id="meanwhile"'):html.index("</table>", html.index('id="meanwhile"'))]
    assert "city_editor" in table and "English name" in table and "Hailiao Garment Factory" in table
    assert "Renamed Meanwhile" in table
    assert 'value="我的修改"' in html  # the user's values are kept to re-apply
    assert f'name="version" value="{current.version}"' in html
    assert store.get("qd-a") == current and len(audit(store)) == before


# --- survey, units, retire
def test_a_survey_changes_the_vacancy_rate_in_the_api(client, store):
    assert client.get("/collections/sites/items/qd-a").get_json()["properties"]["vacancy_rate"] == 1.0
    c = signed_in(client, "editor")
    html = c.get("/sites/qd-a/survey").get_data(as_text=True)
    assert f'value="{TODAY}"' in html  # today by default
    before = len(audit(store))
    resp = post(c, "/sites/qd-a/survey", {"survey_date": TODAY, "leasable_area_m2": "4000", "occupied_area_m2": "3000",
                                          "tenant_count": "7", "source": "实地调查", "data_status": "verified"})
    assert resp.status_code == 302
    props = client.get("/collections/sites/items/qd-a").get_json()["properties"]
    assert props["vacancy_rate"] == 0.25 and props["survey_date"] == TODAY and props["tenant_count"] == 7
    changes = audit(store)
    assert len(changes) == before + 1
    c0 = changes[0]
    assert (c0.channel, c0.action, c0.site_id, c0.subject, c0.before) == ("form", "survey", "qd-a", TODAY, None)
    assert c0.after == {"survey_date": TODAY, "leasable_area_m2": 4000.0, "occupied_area_m2": 3000.0,
                        "tenant_count": 7, "source": "实地调查", "data_status": "verified"}
    page = client.get("/sites/qd-a?lang=zh").get_data(as_text=True)
    assert "最新调查：今天" in page


def test_survey_errors_are_named_and_nothing_is_written(client, store):
    before = len(audit(store))
    resp = post(signed_in(client, "editor"), "/sites/qd-a/survey",
                {"survey_date": TODAY, "leasable_area_m2": "100", "occupied_area_m2": "200", "data_status": "verified"},
                lang="zh")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'id="error-occupied_area_m2"' in html
    assert "已用面积 200 ㎡ 超过可租面积 100 ㎡" in html
    assert len(audit(store)) == before and len(store.surveys("qd-a")) == 1


def test_units_are_replaced_and_recorded_once(client, store):
    c = signed_in(client, "editor")
    html = c.get("/sites/qd-b/units").get_data(as_text=True)
    assert len(re.findall(r'name="floor-\d', html)) == 3  # no units yet: three empty rows, usable without JavaScript
    before = len(audit(store))
    rows = {"floor-0": "1F", "unit_label-0": "101", "area_m2-0": "300", "status-0": "leased", "tenant-0": "甲公司",
            "updated_on-0": TODAY, "floor-1": "1F", "unit_label-1": "102", "area_m2-1": "100",
            "status-1": "vacant_available", "floor-2": "", "unit_label-2": "", "area_m2-2": ""}
    assert post(c, "/sites/qd-b/units", rows).status_code == 302
    units = store.units("qd-b")
    assert [(u.floor, u.unit_label, u.area_m2, u.status, u.tenant) for u in units] == [
        ("1F", "101", 300, "leased", "甲公司"), ("1F", "102", 100, "vacant_available", None)]
    assert client.get("/collections/sites/items/qd-b").get_json()["properties"]["vacancy_rate"] == 0.25
    changes = audit(store)
    assert len(changes) == before + 1
    assert (changes[0].action, changes[0].channel, changes[0].before) == ("units", "form", [])
    assert [u["unit_label"] for u in changes[0].after] == ["101", "102"]
    # the form shows them again, and a removed row is deleted
    html = c.get("/sites/qd-b/units").get_data(as_text=True)
    assert 'value="甲公司"' in html and len(re.findall(r'name="floor-\d', html)) == 5
    assert post(c, "/sites/qd-b/units", {**rows, "remove-1": "1"}).status_code == 302
    assert [u.unit_label for u in store.units("qd-b")] == ["101"]


@pytest.mark.parametrize("lang, expected", [
    ("zh", ["第 2 行, 面积(m²)：abc 不是数字", "第 3 行, 状态：必填"]),
    ("en", ["row 2, Area(m²): abc is not a number", "row 3, Status: is required"]),
])
def test_unit_errors_name_row_and_field(client, store, lang, expected):
    before = len(audit(store))
    rows = {"floor-0": "1F", "unit_label-0": "101", "area_m2-0": "300", "status-0": "leased",
            "floor-1": "2F", "unit_label-1": "201", "area_m2-1": "abc", "status-1": "leased",
            "floor-2": "3F", "unit_label-2": "301", "area_m2-2": "10", "status-2": ""}
    resp = post(signed_in(client, "editor"), "/sites/qd-b/units", rows, lang=lang)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    for text in expected:
        assert text in html
    assert 'id="error-1-area_m2"' in html and 'id="error-2-status"' in html
    assert store.units("qd-b") == [] and len(audit(store)) == before


def test_more_rows_without_javascript_saves_nothing(client, store):
    resp = post(signed_in(client, "editor"), "/sites/qd-b/units",
                {"floor-0": "1F", "unit_label-0": "101", "area_m2-0": "300", "status-0": "leased", "action": "more"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and len(re.findall(r'name="floor-\d', html)) == 7 and 'value="101"' in html
    assert store.units("qd-b") == []


def test_retire_after_confirmation_keeps_the_site_in_exports(client, store):
    c = signed_in(client, "editor")
    html = c.get("/sites/qd-a/retire").get_data(as_text=True)
    assert 'id="confirm-retire"' in html and store.get("qd-a").status == "idle"
    before = len(audit(store))
    version = int(re.search(r'name="version" value="(\d+)"', html)[1])
    assert post(c, "/sites/qd-a/retire", {"version": str(version)}).status_code == 302
    assert store.get("qd-a").status == "retired"
    changes = audit(store)
    assert len(changes) == before + 1
    assert (changes[0].action, changes[0].channel, changes[0].before, changes[0].after) == (
        "retire", "form", {"status": "idle"}, {"status": "retired"})
    assert "qd-a" not in client.get("/export?format=csv").get_data(as_text=True)
    assert "qd-a" in client.get("/export?format=csv&include_retired=1").get_data(as_text=True)
    assert client.get("/sites/qd-a").status_code == 200


# --- who may
FORMS = ["/sites/new", "/sites/qd-a/edit", "/sites/qd-a/survey", "/sites/qd-a/units", "/sites/qd-a/retire"]


@pytest.mark.parametrize("path", FORMS)
def test_anonymous_is_sent_to_sign_in(client, store, path):
    resp = client.get(path, headers={"Accept": "text/html"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("path", FORMS)
def test_a_viewer_is_refused(client, store, path):
    assert signed_in(client, "viewer").get(path).status_code == 403


@pytest.mark.parametrize("path, data", [
    ("/sites/qd-c/edit", {"version": "1", "name_zh": "x"}),
    ("/sites/qd-c/survey", {"survey_date": TODAY, "tenant_count": "3", "data_status": "verified"}),
    ("/sites/qd-c/units", {"floor-0": "1F", "unit_label-0": "1", "area_m2-0": "1", "status-0": "leased"}),
    ("/sites/qd-c/retire", {"version": "1"}),
])
def test_an_editor_out_of_scope_gets_403_and_nothing_is_written(client, store, path, data):
    c = signed_in(client, "editor")  # 青岛市/市南区; qd-c is in 李沧区
    before, site = len(audit(store)), store.get("qd-c")
    assert c.get(path).status_code == 403
    token = csrf_token(c, "/sites/new")
    assert c.post(path, data={**data, "csrf_token": token}).status_code == 403
    assert store.get("qd-c") == site and len(audit(store)) == before


def test_an_editor_cannot_create_a_site_elsewhere(client, store):
    before = len(audit(store))
    resp = post(signed_in(client, "editor"), "/sites/new",
                new_site(district="李沧区", district_adcode="370213", lon="120.43", lat="36.16"))
    assert resp.status_code == 403 and len(audit(store)) == before
    # the city editor may
    client.post("/logout", data={"csrf_token": csrf_token(client, "/sites/new")})
    resp = post(signed_in(client, "city_editor"), "/sites/new",
                new_site(district="李沧区", district_adcode="370213", lon="120.43", lat="36.16"))
    assert resp.status_code == 302 and store.get("qd-new-lab").district == "李沧区"


@pytest.mark.parametrize("path, data", [
    ("/sites/new", new_site()),
    ("/sites/qd-a/edit", {**new_site(), "version": "1"}),
    ("/sites/qd-a/survey", {"survey_date": TODAY, "tenant_count": "3", "data_status": "verified"}),
    ("/sites/qd-a/units", {"floor-0": "1F", "unit_label-0": "1", "area_m2-0": "1", "status-0": "leased"}),
    ("/sites/qd-a/retire", {"version": "1"}),
])
def test_a_post_without_csrf_token_is_refused(client, store, path, data):
    c = signed_in(client, "admin")
    before, site = len(audit(store)), store.get("qd-a")
    assert c.post(path, data=data).status_code == 400
    assert c.post(path, data={**data, "csrf_token": "forged"}).status_code == 400
    assert store.get("qd-a") == site and len(audit(store)) == before and len(store.surveys("qd-a")) == 1


# --- hostile text is data
TEXT_FIELDS = ["name_zh", "name_en", "city", "district", "address_zh", "location_source", "former_use", "current_use",
               "operator", "operator_contact", "source"]


@pytest.mark.parametrize("payload", [SCRIPT, SQL])
def test_text_fields_store_hostile_text_verbatim_and_show_it_escaped(client, store, payload):
    c = signed_in(client, "admin")
    form = _form_values(c.get("/sites/qd-a/edit").get_data(as_text=True))
    form.update({name: payload for name in TEXT_FIELDS}, aliases=payload, industries=payload, district_adcode="")
    assert post(c, "/sites/qd-a/edit", form).status_code == 302
    assert post(c, "/sites/qd-a/survey", {"survey_date": TODAY, "tenant_count": "1", "source": payload,
                                          "data_status": "verified"}).status_code == 302
    assert post(c, "/sites/qd-a/units", {"floor-0": payload, "unit_label-0": payload, "area_m2-0": "10",
                                         "status-0": "leased", "tenant-0": payload}).status_code == 302
    site = store.get("qd-a")
    for name in TEXT_FIELDS:
        assert getattr(site, name) == payload, name
    assert site.aliases == (payload,) and site.industries == (payload,)
    assert store.surveys("qd-a")[-1].source == payload
    unit = store.units("qd-a")[0]
    assert (unit.floor, unit.unit_label, unit.tenant) == (payload, payload, payload)
    for path in ("/sites/qd-a", "/sites/qd-a/edit", "/sites/qd-a/units", "/sites/qd-a/survey", "/sites/qd-a/retire"):
        html = c.get(path).get_data(as_text=True)
        assert "<script>alert" not in html, path
    from markupsafe import escape
    assert str(escape(payload)) in c.get("/sites/qd-a").get_data(as_text=True)  # shown, as text


# --- the site page
def test_site_page_links_for_those_who_may_edit(client, store):
    html = client.get("/sites/qd-a").get_data(as_text=True)
    assert 'id="edit-link"' not in html and 'id="history-link"' not in html
    html = signed_in(client, "viewer").get("/sites/qd-a").get_data(as_text=True)
    assert 'href="/sites/qd-a/history"' in html and 'id="edit-link"' not in html
    client.post("/logout", data={"csrf_token": csrf_token(client, "/sites/qd-a")})
    c = signed_in(client, "editor")
    html = c.get("/sites/qd-a").get_data(as_text=True)
    for link in ("/sites/qd-a/edit", "/sites/qd-a/survey", "/sites/qd-a/units", "/sites/qd-a/retire",
                 "/sites/qd-a/history"):
        assert f'href="{link}"' in html
    assert 'id="edit-link"' not in c.get("/sites/qd-c").get_data(as_text=True)  # out of scope


@pytest.mark.parametrize("lang, text", [("zh", "最新调查：{n} 天前"), ("en", "latest survey {n} days ago")])
def test_site_page_shows_the_age_of_the_latest_survey(client, store, lang, text):
    n = (date.today() - date(2024, 6, 1)).days
    assert text.format(n=n) in client.get(f"/sites/qd-a?lang={lang}").get_data(as_text=True)
    none = "暂无调查" if lang == "zh" else "no survey"
    assert none in client.get(f"/sites/qd-e?lang={lang}").get_data(as_text=True)


def _form_values(html: str) -> dict:
    """The values a browser would submit from the site form (inputs and selected options)."""
    form = html[html.index('id="site-form"'):html.index("</form>", html.index('id="site-form"'))]
    values = {}
    for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*>', form):
        value = re.search(r'value="([^"]*)"', m[0])
        values[m[1]] = _unescape(value[1]) if value else ""
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', m[2])
        values[m[1]] = _unescape(chosen[1]) if chosen else ""
    values.pop("csrf_token", None)
    return values


def _unescape(text: str) -> str:
    import html
    return html.unescape(text)


def test_a_name_cannot_break_out_of_the_minimap_script(client, store):
    c = signed_in(client, "admin")
    form = _form_values(c.get("/sites/qd-a/edit").get_data(as_text=True))
    form.update(name_zh="`${alert(1)}`</script>")
    assert post(c, "/sites/qd-a/edit", form).status_code == 302
    assert store.get("qd-a").name_zh == "`${alert(1)}`</script>"
    html = c.get("/sites/qd-a").get_data(as_text=True)
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    assert scripts and not any("${alert" in s or "`${" in s for s in scripts)


def test_a_stale_units_form_is_refused_and_overwrites_nothing(app, store):
    """Found in review: two editors open the units form; the second save must not undo the first."""
    first, second = signed_in(app.test_client(), "admin"), signed_in(app.test_client(), "city_editor")
    html = second.get("/sites/qd-d/units").get_data(as_text=True)
    stale = re.search(r'name="units_stamp" value="([^"]*)"', html).group(1)
    rows = {"floor-0": "1F", "unit_label-0": "101", "area_m2-0": "450", "status-0": "leased", "tenant-0": "甲公司",
            "floor-1": "2F", "unit_label-1": "201", "area_m2-1": "300", "status-1": "vacant_available",
            "floor-2": "3F", "unit_label-2": "301", "area_m2-2": "200", "status-2": "owner_occupied", "tenant-2": "业主"}
    assert post(first, "/sites/qd-d/units", rows).status_code == 302
    before = len(audit(store))
    theirs = {**rows, "area_m2-0": "500", "status-1": "leased"}
    resp = post(second, "/sites/qd-d/units", {**theirs, "units_stamp": stale}, lang="en")
    assert resp.status_code == 409 and 'id="meanwhile"' in resp.get_data(as_text=True)
    assert [u.area_m2 for u in store.units("qd-d") if u.unit_label == "101"] == [450]
    assert len(audit(store)) == before


def test_a_survey_on_a_date_that_has_one_replaces_it_only_when_confirmed(client, store):
    """Found in review: the form replaced an existing survey of that date without a word."""
    c = signed_in(client, "editor")
    form = {"survey_date": "2024-01-01", "leasable_area_m2": "8000", "occupied_area_m2": "1000",
            "tenant_count": "2", "source": "复查", "data_status": "sample"}
    resp = post(c, "/sites/qd-b/survey", form, lang="en")
    assert resp.status_code == 409 and "replace it" in resp.get_data(as_text=True)
    assert [s.occupied_area_m2 for s in store.surveys("qd-b") if s.survey_date.isoformat() == "2024-01-01"] == [6000]
    assert post(c, "/sites/qd-b/survey", {**form, "replace": "2024-01-01"}).status_code == 302
    assert [s.occupied_area_m2 for s in store.surveys("qd-b") if s.survey_date.isoformat() == "2024-01-01"] == [1000]


@pytest.mark.parametrize("count", ["1e30", "99999999999999999999", "9223372036854775808"])
def test_a_huge_tenant_count_is_a_field_error_not_a_crash(client, store, count):
    """Found in review: SQLite cannot hold these; it was a 500."""
    resp = post(signed_in(client, "editor"), "/sites/qd-a/survey",
                {"survey_date": TODAY, "leasable_area_m2": "4000", "occupied_area_m2": "1000",
                 "tenant_count": count, "data_status": "sample"}, lang="en")
    assert resp.status_code == 400 and 'id="error-tenant_count"' in resp.get_data(as_text=True)
