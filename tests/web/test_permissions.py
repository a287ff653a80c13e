"""The permission matrix: every role (and anonymous) against every write endpoint and form.

Each case runs on a fresh inventory.  A refused request must change nothing (no audit entry,
no new version); an allowed one must write exactly one audit entry per changed record, with
the user's name and the channel of the path it came through.
"""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from sites.audit import ChangeFilter
from sites.stores import open_store
from tests.web.accounts import add_users, bearer, csrf_token, login

TODAY = date.today().isoformat()
ROLES = ("anonymous", "viewer", "editor", "city_editor", "admin")
OK, LOGIN = "ok", "login"  # a success of the endpoint's kind; the login page (302) for anonymous
# in tests/canonical.py: qd-a is in 青岛市/市南区 (the editor's scope), qd-c in 青岛市/李沧区 (only city_editor's)
IN, OUT = "qd-a", "qd-c"


@pytest.fixture
def app(gpkg_path):
    from web import create_app
    store = open_store(str(gpkg_path))
    add_users(store)
    store.close()
    return create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test"})


def as_role(app, role):
    client = app.test_client()
    if role != "anonymous":
        assert login(client, role).status_code == 302
    return client


def form(client, path, data=None, files=None):
    data = {**(data or {}), "csrf_token": csrf_token(client, "/login")}
    if files:
        data.update(files)
        return client.post(path, data=data, content_type="multipart/form-data", headers={"Accept": "text/html"})
    return client.post(path, data=data, headers={"Accept": "text/html"})


def site_form(site_id=None, district="市南区", adcode="370202", lon="120.385", lat="36.065", **kw):
    data = {"id": site_id or "qd-matrix", "name_zh": "矩阵测试楼", "city": "青岛市", "district": district,
            "district_adcode": adcode, "kind": "building", "location_precision": "building", "status": "idle",
            "data_status": "sample", "lon": lon, "lat": lat, "crs": "WGS-84", "last_updated": TODAY}
    data.update(kw)
    return data


def edit_form(app, store, site_id):
    """The edit form as a browser holds it, with one change."""
    site = store.get(site_id)
    lon, lat = site.lon, site.lat
    return site_form(site_id, district=site.district, adcode=site.district_adcode, lon=repr(lon), lat=repr(lat),
                     name_zh=site.name_zh, kind=site.kind, status=site.status, data_status=site.data_status,
                     location_precision=site.location_precision, floors="6", version=str(site.version))


def upload_csv(site_id, district, adcode, lon, lat) -> dict:
    text = ("id,name_zh,city,district,district_adcode,kind,location_precision,status,data_status,lon,lat\n"
            f"{site_id},上传测试楼,青岛市,{district},{adcode},building,street,idle,sample,{lon},{lat}\n")
    return {"file": (io.BytesIO(text.encode("utf-8")), "sites.csv")}


def feature(site_id, district="市南区", adcode="370202", lon=120.385, lat=36.065):
    return {"type": "Feature", "id": site_id, "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"name_zh": "接口测试楼", "city": "青岛市", "district": district, "district_adcode": adcode,
                           "kind": "building", "location_precision": "street", "status": "idle",
                           "data_status": "sample"}}


def api(client, method, path, role, store=None, site_id=None, **kw):
    headers = dict(bearer(role)) if role != "anonymous" else {}
    if site_id is not None:
        headers["If-Match"] = f'"v{store.get(site_id).version}"'
    return client.open(path, method=method, headers=headers, **kw)


# --- the cases: (name, channel, request(app, client, store, role) -> response, expected status by role)
def _create_in(app, c, s, role):
    return form(c, "/sites/new", site_form())


def _create_out(app, c, s, role):
    return form(c, "/sites/new", site_form(district="李沧区", adcode="370213", lon="120.43", lat="36.16"))


def _edit(site_id):
    return lambda app, c, s, role: form(c, f"/sites/{site_id}/edit", edit_form(app, s, site_id))


def _survey(site_id):
    return lambda app, c, s, role: form(c, f"/sites/{site_id}/survey", {
        "survey_date": TODAY, "leasable_area_m2": "4000", "occupied_area_m2": "1000", "tenant_count": "3",
        "source": "matrix", "data_status": "sample"})


def _units(site_id):
    from web.editing import units_stamp
    return lambda app, c, s, role: form(c, f"/sites/{site_id}/units", {
        "floor-0": "1F", "unit_label-0": "101", "area_m2-0": "300", "status-0": "leased", "tenant-0": "甲公司",
        "units_stamp": units_stamp(s.units(site_id))})


def _retire(site_id):
    return lambda app, c, s, role: form(c, f"/sites/{site_id}/retire", {"version": str(s.get(site_id).version)})


def _upload(district, adcode, lon, lat):
    def run(app, c, s, role):
        resp = form(c, "/upload", files=upload_csv("qd-uploaded", district, adcode, lon, lat))
        match = re.search(r'action="/upload/([^/"]+)/commit', resp.get_data(as_text=True))
        if resp.status_code != 200 or not match:
            return resp  # refused at the dry run (or nothing to commit)
        return form(c, f"/upload/{match.group(1)}/commit")
    return run


def _admin(path, data):
    return lambda app, c, s, role: form(c, path, data)


def _api_create(app, c, s, role):
    return api(c, "POST", "/collections/sites/items", role, json=feature("qd-api"))


def _api_put(site_id):
    def run(app, c, s, role):
        body = c.get(f"/collections/sites/items/{site_id}", headers=bearer("admin")).get_json()
        body["properties"]["floors"] = 9
        return api(c, "PUT", f"/collections/sites/items/{site_id}", role, s, site_id, json=body)
    return run


def _api_patch(site_id):
    return lambda app, c, s, role: api(c, "PATCH", f"/collections/sites/items/{site_id}", role, s, site_id,
                                       data='{"properties": {"floors": 8}}', content_type="application/merge-patch+json")


def _api_delete(site_id):
    return lambda app, c, s, role: api(c, "DELETE", f"/collections/sites/items/{site_id}", role, s, site_id)


FORM = {"anonymous": LOGIN, "viewer": 403, "editor": OK, "city_editor": OK, "admin": OK}
FORM_OUT = {**FORM, "editor": 403}
ADMIN = {"anonymous": LOGIN, "viewer": 403, "editor": 403, "city_editor": 403, "admin": OK}
UPLOAD_OUT = {**FORM, "editor": 422}  # the dry run lists the out-of-scope rows as errors; no commit is offered
API = {"anonymous": 401, "viewer": 403, "editor": OK, "city_editor": OK, "admin": OK}
API_OUT = {**API, "editor": 403}

CASES = [
    ("create site in scope", "form", _create_in, FORM),
    ("create site out of scope", "form", _create_out, FORM_OUT),
    ("edit site in scope", "form", _edit(IN), FORM),
    ("edit site out of scope", "form", _edit(OUT), FORM_OUT),
    ("record survey in scope", "form", _survey(IN), FORM),
    ("record survey out of scope", "form", _survey(OUT), FORM_OUT),
    ("edit units in scope", "form", _units(IN), FORM),
    ("edit units out of scope", "form", _units(OUT), FORM_OUT),
    ("retire in scope", "form", _retire(IN), FORM),
    ("retire out of scope", "form", _retire(OUT), FORM_OUT),
    ("upload in scope", "upload", _upload("市南区", "370202", "120.37", "36.06"), FORM),
    ("upload out of scope", "upload", _upload("李沧区", "370213", "120.43", "36.16"), UPLOAD_OUT),
    ("create user", "form", _admin("/admin/users", {"username": "newbie", "role": "viewer",
                                                    "password": "a long enough pass", "password2": "a long enough pass"}),
     ADMIN),
    ("change user", "form", _admin("/admin/users/viewer", {"role": "viewer", "display_name": "改名", "active": "on"}),
     ADMIN),
    ("set password", "form", _admin("/admin/users/viewer/password", {"password": "another long pass",
                                                                     "password2": "another long pass"}), ADMIN),
    ("issue token", "form", _admin("/admin/users/viewer/token", {}), ADMIN),
    ("revoke token", "form", _admin("/admin/users/viewer/revoke-token", {}), ADMIN),
    ("api create in scope", "api", _api_create, API),
    ("api replace in scope", "api", _api_put(IN), API),
    ("api replace out of scope", "api", _api_put(OUT), API_OUT),
    ("api patch in scope", "api", _api_patch(IN), API),
    ("api patch out of scope", "api", _api_patch(OUT), API_OUT),
    ("api retire in scope", "api", _api_delete(IN), API),
    ("api retire out of scope", "api", _api_delete(OUT), API_OUT),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, channel, run, expected", CASES, ids=[c[0] for c in CASES])
def test_permission_matrix(app, gpkg_path, name, channel, run, expected, role):
    client = as_role(app, role)
    store = open_store(str(gpkg_path))
    before = store.changes()[1]
    versions = {s.id: s.version for s in store.all_sites()}
    resp = run(app, client, store, role)
    want = expected[role]
    after = store.changes(ChangeFilter(limit=None))[0][: store.changes()[1] - before]
    if want == OK:
        assert resp.status_code in (200, 201, 204, 302), (resp.status_code, resp.get_data(as_text=True)[:500])
        assert "/login" not in resp.headers.get("Location", "")
        assert len(after) >= 1, "an allowed write wrote nothing"
        assert {c.user for c in after} == {role} and {c.channel for c in after} == {channel}
        assert len(after) == len({(c.site_id, c.action, c.subject) for c in after}), "one entry per change"
    else:
        if want == LOGIN:
            assert resp.status_code == 302 and "/login" in resp.headers["Location"]
        else:
            assert resp.status_code == want, (resp.status_code, resp.get_data(as_text=True)[:300])
        assert after == [], [(c.action, c.site_id) for c in after]
        assert {s.id: s.version for s in store.all_sites()} == versions
    store.close()


PAGES = {  # read-only pages that need an account
    "/changes": {"anonymous": LOGIN, "viewer": OK, "editor": OK, "city_editor": OK, "admin": OK},
    "/changes.csv": {"anonymous": LOGIN, "viewer": OK, "editor": OK, "city_editor": OK, "admin": OK},
    f"/sites/{IN}/history": {"anonymous": LOGIN, "viewer": OK, "editor": OK, "city_editor": OK, "admin": OK},
    "/sites/new": FORM,
    f"/sites/{IN}/edit": FORM,
    f"/sites/{OUT}/edit": FORM_OUT,
    "/upload": FORM,
    "/admin/users": ADMIN,
    "/admin/users/viewer": ADMIN,
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", list(PAGES))
def test_who_may_open_which_page(app, path, role):
    resp = as_role(app, role).get(path, headers={"Accept": "text/html"})
    want = PAGES[path][role]
    if want == OK:
        assert resp.status_code == 200
    elif want == LOGIN:
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    else:
        assert resp.status_code == want


@pytest.mark.parametrize("path", ["/sites/new", f"/sites/{IN}/edit", f"/sites/{IN}/survey", f"/sites/{IN}/units",
                                  f"/sites/{IN}/retire", "/upload", "/admin/users", "/admin/users/viewer",
                                  "/admin/users/viewer/token", "/logout"])
def test_a_form_post_without_a_valid_csrf_token_is_refused(app, gpkg_path, path):
    client = as_role(app, "admin")
    store = open_store(str(gpkg_path))
    before = store.changes()[1]
    for data in ({}, {"csrf_token": "forged"}):
        resp = client.post(path, data={**site_form(), **data}, headers={"Accept": "text/html"})
        assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    assert store.changes()[1] == before
    assert client.get("/changes").status_code == 200  # still signed in: /logout was refused too
    store.close()
