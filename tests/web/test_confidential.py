"""Confidential fields (rent, operator contacts, tenant names) never leave the server for those
not allowed to see them: not in pages, popups, the API or exports."""

import io
import json
import re
import zipfile

import pytest

from sites.audit import Actor
from sites.stores import open_store
from tests.web.accounts import add_users, bearer, csrf_token, login

RENT = "1.5"  # qd-a's rent in tests/canonical.py
CONTACT = "王经理 13900000000"
TENANT = "甲公司"  # a tenant of qd-d


@pytest.fixture
def app(gpkg_path):
    from web import create_app
    store = open_store(str(gpkg_path))
    add_users(store)
    with store.transaction(Actor("setup", "cli")) as tx:
        tx.put_site(store.get("qd-a").replace(operator_contact=CONTACT))
        tx.put_site(store.get("qd-d").replace(operator_contact=CONTACT))
    store.close()
    return create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test"})


def _texts(client, headers=None):
    """Every response that can carry site values, as text."""
    out = {}
    for path in ("/sites/qd-a", "/sites/qd-d", "/export?format=csv", "/export?format=geojson",
                 "/vacancy/candidates", "/vacancy/candidates?f=html",
                 "/collections/sites/queryables", "/collections/sites/schema"):
        resp = client.get(path, headers=headers or {})
        assert resp.status_code == 200, (path, resp.status_code)
        out[path] = resp.get_data(as_text=True)
    xlsx = client.get("/export?format=xlsx", headers=headers or {}).data
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        out["/export?format=xlsx"] = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    return out


def test_anonymous_visitors_never_receive_confidential_values(client):
    for path, text in _texts(client).items():
        assert CONTACT not in text, path
        assert TENANT not in text, path
        assert "rent_cny_per_m2_day" not in text, path
        assert "租金" not in text, path


def test_a_signed_in_viewer_sees_them(client):
    login(client, "viewer")
    texts = _texts(client)
    assert CONTACT in texts["/sites/qd-a"] and TENANT in texts["/sites/qd-d"]
    assert "租金" in texts["/export?format=csv"] and CONTACT in texts["/export?format=geojson"]
    assert "rent_cny_per_m2_day" in texts["/collections/sites/queryables"]


def test_an_api_token_counts_like_a_session(client):
    texts = _texts(client, headers=bearer("viewer"))
    assert CONTACT in texts["/export?format=geojson"]


def test_the_role_is_configurable(gpkg_path, app):
    from web import create_app
    strict = create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test",
                         "CONFIDENTIAL_ROLE": "editor"})
    viewer, editor = strict.test_client(), strict.test_client()
    login(viewer, "viewer")
    login(editor, "editor")
    assert CONTACT not in viewer.get("/sites/qd-a").get_data(as_text=True)
    assert CONTACT in editor.get("/sites/qd-a").get_data(as_text=True)


def test_the_fields_are_configurable(gpkg_path, app):
    from web import create_app
    app = create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test",
                      "CONFIDENTIAL_FIELDS": "operator"})
    html = app.test_client().get("/sites/qd-a").get_data(as_text=True)
    assert CONTACT in html  # no longer confidential


def test_an_unknown_confidential_field_stops_the_app_naming_the_setting(gpkg_path, app):
    from sites.config import ConfigError
    from web import create_app
    with pytest.raises(ConfigError, match="CONFIDENTIAL_FIELDS: name_zh"):
        create_app({"STORE_URL": str(gpkg_path), "CONFIDENTIAL_FIELDS": "name_zh"})


@pytest.mark.parametrize("path", ["/export?format=csv&filter=rent_cny_per_m2_day<2",
                                  "/export?format=csv&sortby=rent_cny_per_m2_day",
                                  "/vacancy/candidates?filter=operator_contact%20LIKE%20%27%25139%25%27"])
def test_anonymous_cannot_filter_or_sort_by_a_confidential_field(client, path):
    resp = client.get(path, headers={"Accept": "application/json"})
    assert resp.status_code == 400
    assert "unknown property" in resp.get_data(as_text=True)


def test_a_viewer_can_filter_by_rent(client):
    login(client, "viewer")
    resp = client.get("/export?format=geojson&filter=rent_cny_per_m2_day<2")
    ids = [f["id"] for f in json.loads(resp.data)["features"]]
    assert "qd-a" in ids


API_PATHS = ["/collections/sites/items", "/collections/sites/items?f=csv", "/collections/sites/items?f=html",
             "/collections/sites/items/qd-a", "/collections/sites/items/qd-a?f=html",
             "/collections/sites/items?bbox=120,36,121,37&properties=name_zh,status"]


@pytest.mark.parametrize("path", API_PATHS)
def test_the_api_leaves_confidential_fields_out_for_anonymous(client, path):
    text = client.get(path).get_data(as_text=True)
    assert "rent_cny_per_m2_day" not in text and "operator_contact" not in text and CONTACT not in text


@pytest.mark.parametrize("path", API_PATHS[:4])
def test_the_api_gives_them_to_a_viewer(client, path):
    text = client.get(path, headers=bearer("viewer")).get_data(as_text=True)
    assert "rent_cny_per_m2_day" in text


def test_asking_for_a_confidential_property_is_an_unknown_property(client):
    resp = client.get("/collections/sites/items?properties=name_zh,rent_cny_per_m2_day")
    assert resp.status_code == 400 and "rent_cny_per_m2_day" in resp.get_json()["description"]
    assert client.get("/collections/sites/items?filter=rent_cny_per_m2_day<2").status_code == 400
    assert client.get("/collections/sites/items?filter=rent_cny_per_m2_day<2", headers=bearer("viewer")).status_code == 200


def test_the_map_popups_come_from_the_api_without_them(client):
    """The map's script asks the items endpoint for its popup properties: none is confidential."""
    from pathlib import Path
    import re as _re
    script = (Path(__file__).resolve().parents[2] / "web/static/js/sitemap.js").read_text(encoding="utf-8")
    shown = _re.search(r"var SHOWN = \[(.*?)\]", script, _re.S).group(1)
    asked = [n.strip().strip('"') for n in shown.split(",")]
    resp = client.get("/collections/sites/items?properties=" + ",".join(asked))
    assert resp.status_code == 200 and not {"rent_cny_per_m2_day", "operator_contact"} & set(asked)


# --- found in review: writing what one may not see
@pytest.fixture
def strict(gpkg_path, app):
    """Rent and contacts only for admins: editors write sites without seeing them."""
    from web import create_app
    return create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test",
                       "CONFIDENTIAL_ROLE": "admin"})


def test_an_editor_cannot_write_or_probe_a_field_they_may_not_see_through_the_api(strict, gpkg_path):
    c = strict.test_client()
    etag = c.get("/collections/sites/items/qd-a").headers["ETag"]
    resp = c.patch("/collections/sites/items/qd-a", data='{"properties": {"rent_cny_per_m2_day": 1.5}}',
                   content_type="application/merge-patch+json", headers={**bearer("editor"), "If-Match": etag})
    assert resp.status_code == 400 and "rent_cny_per_m2_day" in resp.get_json()["description"]
    feature = c.get("/collections/sites/items/qd-a", headers=bearer("editor")).get_json()
    assert "rent_cny_per_m2_day" not in feature["properties"]
    feature["properties"]["floors"] = 4
    resp = c.put("/collections/sites/items/qd-a", json=feature, headers={**bearer("editor"), "If-Match": etag})
    assert resp.status_code == 200
    site = open_store(str(gpkg_path)).get("qd-a")
    assert (site.floors, site.rent_cny_per_m2_day, site.operator_contact) == (4, 1.5, CONTACT)  # kept


def test_an_upload_by_an_editor_keeps_and_refuses_fields_they_may_not_see(strict, gpkg_path):
    c = strict.test_client()
    login(c, "editor")
    head = "id,name_zh,city,district,district_adcode,kind,location_precision,status,data_status,lon,lat"
    row = "qd-a,海聊制衣厂旧址,青岛市,市南区,370202,building,street,idle,sample,120.38,36.07"

    def upload(text):
        data = {"csrf_token": csrf_token(c, "/upload"), "file": (io.BytesIO(text.encode()), "s.csv")}
        return c.post("/upload", data=data, content_type="multipart/form-data")

    resp = upload(f"{head},rent_cny_per_m2_day\n{row},9.9\n")
    assert resp.status_code == 422 and "rent_cny_per_m2_day" in resp.get_data(as_text=True)
    resp = upload(f"{head},floors\n{row},3\n")
    token = re.search(r'action="/upload/([^/"]+)/commit', resp.get_data(as_text=True)).group(1)
    assert c.post(f"/upload/{token}/commit", data={"csrf_token": csrf_token(c, "/upload")}).status_code == 200
    site = open_store(str(gpkg_path)).get("qd-a")
    assert (site.floors, site.rent_cny_per_m2_day, site.operator_contact) == (3, 1.5, CONTACT)


def test_fields_free_text_searches_cannot_be_confidential(gpkg_path, app):
    from sites.config import ConfigError
    from web import create_app
    with pytest.raises(ConfigError, match="address_zh"):
        create_app({"STORE_URL": str(gpkg_path), "CONFIDENTIAL_FIELDS": "address_zh"})
