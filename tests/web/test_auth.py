"""Signing in and out, lock-out, CSRF, session cookies and the administrators' user pages,
through the real forms against a real GeoPackage."""

import re

import pytest

from sites import accounts
from sites.audit import ChangeFilter
from sites.stores import open_store
from tests.web.accounts import PASSWORD, add_users, csrf_token, login

MAX_FAILURES = 3
NEW_PASSWORD = "a brand new secret"


@pytest.fixture
def app(gpkg_path):
    from web import create_app
    store = open_store(str(gpkg_path))
    add_users(store)
    store.close()
    return create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test",
                       "LOGIN_MAX_FAILURES": MAX_FAILURES})


@pytest.fixture
def store(app):
    return app.extensions["get_store"]()


@pytest.fixture
def admin(app):
    c = app.test_client()
    assert login(c, "admin").status_code == 302
    return c


def signed_in_as(client) -> str | None:
    html = client.get("/login").get_data(as_text=True)
    match = re.search(r'id="whoami">([^<]*)<', html)
    return match.group(1) if match else None


def post_form(client, path, data, token=True):
    """Post a form as the browser does, with the CSRF token of the page the form is on."""
    page = path.rsplit("/", 1)[0] if path.count("/") > 3 else path
    if token:
        data = {**data, "csrf_token": csrf_token(client, page)}
    return client.post(path, data=data)


def audit_count(store) -> int:
    return store.changes(ChangeFilter(limit=1))[1]


# --- signing in and out
def test_login_through_the_form_then_logout(client):
    resp = login(client, "editor")
    assert resp.status_code == 302 and resp.headers["Location"] == "/?f=html"
    assert signed_in_as(client) == "editor 测试"
    resp = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 302
    assert signed_in_as(client) is None


def test_login_goes_to_next(client):
    token = csrf_token(client)
    resp = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token,
                                       "next": "/admin/users"})
    assert resp.headers["Location"] == "/admin/users"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "/\t/evil.example", "javascript:alert(1)", "evil.example"])
def test_next_cannot_redirect_off_site(client, target):
    token = csrf_token(client)
    resp = client.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token,
                                       "next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/?f=html"


def test_wrong_password_is_401_with_a_message(client):
    resp = login(client, "editor", "not the password")
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_data(as_text=True)
    client.get("/login?lang=en")
    resp = login(client, "editor", "not the password")
    assert "wrong user name or password" in resp.get_data(as_text=True)
    assert signed_in_as(client) is None


def test_unknown_user_gets_the_same_message(client):
    resp = login(client, "nobody", PASSWORD)
    assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)


def test_lock_out_after_max_failures_even_with_the_right_password(client, store):
    for _ in range(MAX_FAILURES):
        assert login(client, "editor", "not the password").status_code == 401
    assert accounts.is_locked(store.user("editor"))
    resp = login(client, "editor", PASSWORD)
    assert resp.status_code == 401
    assert "锁定" in resp.get_data(as_text=True)
    assert signed_in_as(client) is None


def test_failures_below_the_limit_are_forgiven_by_a_good_login(client, store):
    for _ in range(MAX_FAILURES - 1):
        login(client, "editor", "not the password")
    assert login(client, "editor").status_code == 302
    assert store.user("editor").failed_logins == 0


def test_the_lock_expires(client, store):
    from datetime import datetime, timedelta, timezone
    from sites.audit import Actor
    with store.transaction(Actor("setup", "cli")) as tx:
        tx.note_login(store.user("editor").replace(locked_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert login(client, "editor").status_code == 302


def test_an_admin_unlocks_a_locked_account(client, admin, store):
    for _ in range(MAX_FAILURES):
        login(client, "editor", "not the password")
    page = admin.get("/admin/users/editor").get_data(as_text=True)
    assert 'id="unlock"' in page
    resp = post_form(admin, "/admin/users/editor/unlock", {})
    assert resp.status_code == 302
    assert not accounts.is_locked(store.user("editor"))
    assert login(client, "editor").status_code == 302


def test_a_deactivated_user_cannot_log_in(client, admin, store):
    resp = post_form(admin, "/admin/users/viewer", {"role": "viewer", "scope": "", "display_name": "v"})
    assert resp.status_code == 302 and store.user("viewer").active is False
    assert login(client, "viewer").status_code == 401
    assert signed_in_as(client) is None


def test_deactivating_ends_the_sessions_of_that_user(app, admin, store):
    viewer = app.test_client()
    login(viewer, "viewer")
    post_form(admin, "/admin/users/viewer", {"role": "viewer", "scope": ""})
    assert signed_in_as(viewer) is None


def test_changing_a_password_ends_existing_sessions(app, admin, store):
    editor = app.test_client()
    login(editor, "editor")
    assert signed_in_as(editor) == "editor 测试"
    resp = post_form(admin, "/admin/users/editor/password", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert resp.status_code == 302
    assert signed_in_as(editor) is None
    assert login(editor, "editor").status_code == 401
    assert login(editor, "editor", NEW_PASSWORD).status_code == 302


def test_an_admin_changing_their_own_password_stays_signed_in(admin, store):
    post_form(admin, "/admin/users/admin/password", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert accounts.check_password(store.user("admin"), NEW_PASSWORD)
    assert signed_in_as(admin) == "admin 测试"


def test_the_session_cookie_is_httponly_samesite_lax_and_secure(client):
    resp = login(client, "editor")
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))
    flags = [p.strip().lower() for p in cookie.split(";")]
    assert "httponly" in flags and "secure" in flags and "samesite=lax" in flags


# --- CSRF
def test_login_without_a_csrf_token_is_refused(client, store):
    client.get("/login")
    resp = client.post("/login", data={"username": "editor", "password": PASSWORD})
    assert resp.status_code == 400
    assert signed_in_as(client) is None


def test_login_with_a_wrong_csrf_token_is_refused(client):
    client.get("/login")
    resp = client.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": "forged"})
    assert resp.status_code == 400
    assert signed_in_as(client) is None


def test_logout_without_a_csrf_token_is_refused(client):
    login(client, "editor")
    assert client.post("/logout").status_code == 400
    assert signed_in_as(client) == "editor 测试"


ADMIN_FORMS = [
    ("/admin/users", {"username": "mallory", "role": "admin", "password": NEW_PASSWORD, "password2": NEW_PASSWORD}),
    ("/admin/users/viewer", {"role": "admin", "scope": "", "active": "on"}),
    ("/admin/users/viewer/password", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}),
    ("/admin/users/viewer/token", {}),
    ("/admin/users/viewer/revoke-token", {}),
    ("/admin/users/viewer/unlock", {}),
]


@pytest.mark.parametrize("path,data", ADMIN_FORMS, ids=[p for p, _ in ADMIN_FORMS])
@pytest.mark.parametrize("token", [None, "forged"])
def test_admin_forms_without_a_valid_csrf_token_are_refused_and_change_nothing(admin, store, path, data, token):
    from datetime import datetime, timedelta, timezone
    from sites.audit import Actor
    with store.transaction(Actor("setup", "cli")) as tx:  # something for unlock to change
        tx.note_login(store.user("viewer").replace(locked_until=datetime.now(timezone.utc) + timedelta(hours=1)))
    users, changes = store.users(), audit_count(store)
    resp = admin.post(path, data=data if token is None else {**data, "csrf_token": token})
    assert resp.status_code == 400
    assert store.users() == users and audit_count(store) == changes
    assert "new-token" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("path,data", ADMIN_FORMS, ids=[p for p, _ in ADMIN_FORMS])
def test_admin_forms_with_the_token_work(admin, store, path, data):
    changes = audit_count(store)
    resp = post_form(admin, path, data)
    assert resp.status_code in (200, 302)
    if not path.endswith("unlock"):  # unlocking an unlocked account changes nothing
        assert audit_count(store) == changes + 1


# --- who may use the admin pages
ADMIN_PAGES = ["/admin/users", "/admin/users/viewer"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_send_anonymous_visitors_to_login(client, path):
    resp = client.get(path, headers={"Accept": "text/html"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("who", ["editor", "city_editor", "viewer"])
@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_are_forbidden_to_editors_and_viewers(app, who, path):
    c = app.test_client()
    login(c, who)
    assert c.get(path).status_code == 403


@pytest.mark.parametrize("who", ["editor", "viewer"])
def test_editors_and_viewers_cannot_post_admin_forms(app, store, who):
    c = app.test_client()
    login(c, who)
    token = csrf_token(c, "/login")
    resp = c.post("/admin/users/viewer", data={"role": "admin", "csrf_token": token, "active": "on"})
    assert resp.status_code == 403
    assert store.user("viewer").role == "viewer"


def test_an_unknown_user_page_is_404(admin):
    assert admin.get("/admin/users/nobody").status_code == 404


# --- the admin pages
def test_the_users_page_lists_every_account(admin):
    html = admin.get("/admin/users").get_data(as_text=True)
    for name in ("admin", "editor", "city_editor", "viewer"):
        assert f'href="/admin/users/{name}"' in html
    assert "青岛市/市南区" in html and "编辑者" in html


def test_creating_a_user_is_audited_as_form_without_the_password(admin, store):
    resp = post_form(admin, "/admin/users", {"username": "li.wei", "role": "editor", "scope": "青岛市/市南区，西安市",
                                             "display_name": "李伟", "password": NEW_PASSWORD,
                                             "password2": NEW_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/users/li.wei"
    user = store.user("li.wei")
    assert (user.role, user.scope, user.display_name) == ("editor", ("青岛市/市南区", "西安市"), "李伟")
    assert accounts.check_password(user, NEW_PASSWORD)
    [change], _ = store.changes(ChangeFilter(action="user", limit=1))
    assert (change.user, change.channel, change.subject) == ("admin", "form", "li.wei")
    assert NEW_PASSWORD not in str(change.after) and user.password_hash not in str(change.after)


@pytest.mark.parametrize("data,field,zh,en", [
    ({"username": "x"}, "username", "2 到 64 个", "2 to 64 letters"),
    ({"username": "taken", "role": "boss"}, "role", "请选择", "choose viewer"),
    ({"username": "taken", "role": "editor", "scope": ""}, "scope", "至少需要一个", "at least one city"),
    ({"username": "taken", "role": "editor", "scope": "市南区"}, "scope", "每一项", "each entry"),
    ({"username": "editor"}, "username", "已被使用", "is taken"),
    ({"username": "taken", "password": "short"}, "password", "至少 10 个字符", "at least 10 characters"),
    ({"username": "taken", "password2": "something else"}, "password2", "两次输入的密码不一致", "passwords differ"),
])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_create_form_errors_are_shown_next_to_the_field(admin, store, data, field, zh, en, lang):
    admin.get(f"/admin/users?lang={lang}")
    form = {"username": "taken", "role": "viewer", "password": NEW_PASSWORD, "password2": NEW_PASSWORD, **data}
    users = store.users()
    resp = post_form(admin, "/admin/users", form)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    match = re.search(rf'id="error-{field}">([^<]*)<', html)
    assert match, html
    assert (zh if lang == "zh" else en) in match.group(1)
    assert store.users() == users


def test_editing_role_scope_and_display_name(admin, store):
    resp = post_form(admin, "/admin/users/viewer", {"role": "editor", "scope": "青岛市", "display_name": "新名字",
                                                    "active": "on"})
    assert resp.status_code == 302
    user = store.user("viewer")
    assert (user.role, user.scope, user.display_name, user.active) == ("editor", ("青岛市",), "新名字", True)
    [change], _ = store.changes(ChangeFilter(action="user", limit=1))
    assert change.channel == "form" and change.before["role"] == "viewer" and change.after["role"] == "editor"


def test_data_is_stored_verbatim_and_shown_as_text(admin, store):
    evil = "<script>alert(1)</script>' OR 1=1 --"
    post_form(admin, "/admin/users/viewer", {"role": "viewer", "display_name": evil, "active": "on"})
    assert store.user("viewer").display_name == evil
    for path in ("/admin/users", "/admin/users/viewer"):
        html = admin.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_last_admin_cannot_be_demoted(admin, store):
    resp = post_form(admin, "/admin/users/admin", {"role": "editor", "scope": "青岛市", "active": "on"})
    assert resp.status_code == 400
    assert re.search(r'id="error-role">[^<]*最后一个', resp.get_data(as_text=True))
    assert store.user("admin").role == "admin"


def test_the_last_admin_cannot_be_deactivated(admin, store):
    resp = post_form(admin, "/admin/users/admin", {"role": "admin"})
    assert resp.status_code == 400 and 'id="error-active"' in resp.get_data(as_text=True)
    assert store.user("admin").active


def test_an_admin_can_be_demoted_when_another_remains(admin, store):
    post_form(admin, "/admin/users/viewer", {"role": "admin", "active": "on"})
    resp = post_form(admin, "/admin/users/admin", {"role": "viewer", "active": "on"})
    assert resp.status_code == 302 and store.user("admin").role == "viewer"


def test_a_new_token_is_shown_once_and_works(admin, store, app):
    resp = post_form(admin, "/admin/users/viewer/token", {})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    token = re.search(r'<pre id="new-token">([^<]+)</pre>', resp.get_data(as_text=True)).group(1)
    assert store.user_by_token(accounts.token_hash(token)).username == "viewer"
    assert token not in admin.get("/admin/users/viewer").get_data(as_text=True)
    from tests.web.accounts import TOKENS
    assert store.user_by_token(accounts.token_hash(TOKENS["viewer"])) is None  # the old one stopped working


def test_revoking_the_token(admin, store):
    resp = post_form(admin, "/admin/users/viewer/revoke-token", {})
    assert resp.status_code == 302 and store.user("viewer").token_hash is None
    [change], _ = store.changes(ChangeFilter(action="user", limit=1))
    assert change.after == {"token": "changed"} and change.channel == "form"


# --- found in review: parallel attempts, deactivation, expired locks
def test_parallel_wrong_passwords_still_lock_the_account(app, store):
    """Each attempt reads and counts its failure in one transaction: none is lost."""
    from concurrent.futures import ThreadPoolExecutor

    clients = [app.test_client() for _ in range(8)]
    tokens = [csrf_token(c) for c in clients]
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda ct: ct[0].post("/login", data={"username": "viewer", "password": "wrong!",
                                                                   "csrf_token": ct[1]}).status_code,
                              zip(clients, tokens)))
    assert codes == [401] * 8
    assert accounts.is_locked(store.user("viewer"))
    assert login(app.test_client(), "viewer").status_code == 401  # even the right password, now


def test_deactivating_ends_sessions_for_good_even_after_reactivation(app, admin):
    viewer = app.test_client()
    assert login(viewer, "viewer").status_code == 302
    assert viewer.get("/changes").status_code == 200
    form = {"role": "viewer", "display_name": "viewer 测试"}
    assert post_form(admin, "/admin/users/viewer", form).status_code in (200, 302)  # no "active": deactivated
    page = {"Accept": "text/html"}
    assert viewer.get("/changes", headers=page).status_code == 302  # to the login page
    assert post_form(admin, "/admin/users/viewer", {**form, "active": "on"}).status_code in (200, 302)
    assert viewer.get("/changes", headers=page).status_code == 302  # the old cookie stays dead
    assert login(viewer, "viewer").status_code == 302  # signing in again works


def test_a_wrong_password_after_a_lock_expired_is_just_wrong(app, store):
    from datetime import datetime, timedelta, timezone
    from sites.audit import Actor
    with store.transaction(Actor("setup", "cli")) as tx:
        tx.note_login(store.user("editor").replace(locked_until=datetime.now(timezone.utc) - timedelta(minutes=1)))
    resp = login(app.test_client(), "editor", "not the password")
    assert resp.status_code == 401 and "locked" not in resp.get_data(as_text=True).lower()
    assert store.user("editor").failed_logins == 1 and store.user("editor").locked_until is None
