"""Accounts: password hashing, lock-out, what each role may edit and see, and accounts in every store."""

from datetime import datetime, timedelta, timezone

import pytest

from sites import accounts
from sites.accounts import User
from sites.audit import Actor, ChangeFilter
from sites.errors import ValidationError
from sites.stores import open_store
from tests import canonical

PASSWORD = "correct horse battery"
HASH = accounts.hash_password(PASSWORD)  # Argon2 is slow on purpose: once per module
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
LOCKOUT = timedelta(minutes=15)
SITES = {s.id: s for s in canonical.SITES}  # qd-a: 青岛市 市南区, qd-c: 青岛市 李沧区, xa-g: 西安市

ADMIN = User("root", "admin", password_hash=HASH)
EDITOR = User("li", "editor", scope=("青岛市/市南区",), password_hash=HASH)
CITY_EDITOR = User("wang", "editor", scope=("青岛市",), password_hash=HASH)
VIEWER = User("zhao", "viewer", password_hash=HASH)


# --- passwords
def test_the_hash_never_contains_the_password():
    assert PASSWORD not in HASH
    assert HASH.startswith("$argon2id$")
    assert accounts.hash_password(PASSWORD) != HASH  # salted: the same password hashes differently


def test_a_short_password_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as err:
        accounts.hash_password("x" * (accounts.MIN_PASSWORD - 1))
    assert err.value.field == "password"


@pytest.mark.parametrize("user,password,expected", [
    (VIEWER, PASSWORD, True),
    (VIEWER, PASSWORD + " ", False),
    (VIEWER, "", False),
    (VIEWER.replace(password_hash=None), PASSWORD, False),
    (VIEWER.replace(password_hash="not a hash"), PASSWORD, False),
    (None, PASSWORD, False),
])
def test_check_password(user, password, expected):
    assert accounts.check_password(user, password) is expected


# --- lock-out
def test_the_account_locks_after_max_failures():
    user = VIEWER
    for _ in range(2):
        user = accounts.after_login(user, False, 3, LOCKOUT, NOW)
        assert not accounts.is_locked(user, NOW)
    user = accounts.after_login(user, False, 3, LOCKOUT, NOW)
    assert accounts.is_locked(user, NOW)
    assert user.locked_until == NOW + LOCKOUT


def test_the_lock_expires():
    user = VIEWER.replace(locked_until=NOW + LOCKOUT)
    assert accounts.is_locked(user, NOW + LOCKOUT - timedelta(seconds=1))
    assert not accounts.is_locked(user, NOW + LOCKOUT)


def test_a_good_login_clears_the_failures():
    user = accounts.after_login(VIEWER.replace(failed_logins=2), True, 3, LOCKOUT, NOW)
    assert (user.failed_logins, user.locked_until) == (0, None)


# --- what each role may edit
@pytest.mark.parametrize("user,site_id,expected", [
    (None, "qd-a", False),
    (VIEWER, "qd-a", False),
    (EDITOR, "qd-a", True),
    (EDITOR, "qd-c", False),
    (EDITOR, "xa-g", False),
    (CITY_EDITOR, "qd-c", True),
    (CITY_EDITOR, "xa-g", False),
    (ADMIN, "xa-g", True),
    (EDITOR.replace(active=False), "qd-a", False),
    (ADMIN.replace(active=False), "qd-a", False),
])
def test_can_edit_by_role_and_scope(user, site_id, expected):
    assert accounts.can_edit(user, SITES[site_id]) is expected


def test_an_editor_cannot_move_a_site_out_of_their_scope():
    site = SITES["qd-a"]
    assert accounts.can_edit(EDITOR, site, site.replace(name_en="x"))
    assert not accounts.can_edit(EDITOR, site, site.replace(district="李沧区"))
    assert accounts.can_edit(CITY_EDITOR, site, site.replace(district="李沧区"))


def test_an_editor_cannot_move_a_site_into_their_scope():
    site = SITES["qd-c"]
    assert not accounts.can_edit(EDITOR, site, site.replace(district="市南区"))


def test_a_new_site_must_be_in_scope():
    assert accounts.can_edit(EDITOR, None, SITES["qd-b"])
    assert not accounts.can_edit(EDITOR, None, SITES["nj-h"])
    assert not accounts.can_edit(VIEWER, None, SITES["qd-b"])


# --- what each may see
CONFIDENTIAL = frozenset({"rent_cny_per_m2_day", "tenant"})


@pytest.mark.parametrize("user,min_role,hidden", [
    (None, "viewer", CONFIDENTIAL),
    (VIEWER, "viewer", frozenset()),
    (VIEWER.replace(active=False), "viewer", CONFIDENTIAL),
    (VIEWER, "editor", CONFIDENTIAL),
    (EDITOR, "editor", frozenset()),
    (EDITOR, "admin", CONFIDENTIAL),
    (ADMIN, "admin", frozenset()),
])
def test_hidden_fields(user, min_role, hidden):
    assert accounts.hidden_fields(user, CONFIDENTIAL, min_role) == hidden


# --- validation
@pytest.mark.parametrize("user,field", [
    (User("a", "viewer"), "username"),
    (User("has space", "viewer"), "username"),
    (User("x" * 65, "viewer"), "username"),
    (User("<script>", "viewer"), "username"),
    (User("ok", "boss"), "role"),
    (User("ok", "editor"), "scope"),
    (User("ok", "editor", scope=("市南区",)), "scope"),
    (User("ok", "editor", scope=("青岛市/市南区/八大关",)), "scope"),
    (User("ok", "editor", scope=("",)), "scope"),
])
def test_validate_user_names_the_field(user, field):
    with pytest.raises(ValidationError) as err:
        accounts.validate_user(user)
    assert err.value.field == field
    assert field in str(err.value)


@pytest.mark.parametrize("user", [VIEWER, EDITOR, CITY_EDITOR, ADMIN, User("li.wei@qd", "editor", scope=("西安市",))])
def test_valid_users_pass(user):
    accounts.validate_user(user)


def test_the_last_active_admin_cannot_be_removed():
    other = ADMIN.replace(username="root2")
    assert accounts.removes_last_admin([ADMIN, EDITOR], ADMIN, ADMIN.replace(role="editor", scope=("青岛市",)))
    assert accounts.removes_last_admin([ADMIN, EDITOR], ADMIN, ADMIN.replace(active=False))
    assert not accounts.removes_last_admin([ADMIN, other], ADMIN, ADMIN.replace(role="viewer"))
    assert accounts.removes_last_admin([ADMIN, other.replace(active=False)], ADMIN, ADMIN.replace(role="viewer"))
    assert not accounts.removes_last_admin([ADMIN], ADMIN, ADMIN.replace(display_name="Root"))
    assert not accounts.removes_last_admin([VIEWER], VIEWER, VIEWER.replace(active=False))


# --- accounts in every store
SETUP = Actor("setup", "cli")


def test_users_are_stored_and_listed_by_name(store):
    with store.transaction(SETUP) as tx:
        tx.put_user(VIEWER)
        tx.put_user(EDITOR)
    assert store.user("li") == EDITOR
    assert [u.username for u in store.users()] == ["li", "zhao"]
    assert store.user("nobody") is None


def test_users_persist_in_the_geopackage(tmp_path):
    path = str(tmp_path / "accounts.gpkg")
    with open_store(path, create=True) as store, store.transaction(SETUP) as tx:
        tx.put_user(EDITOR.replace(locked_until=NOW, failed_logins=2, display_name="李 <b>"))
    with open_store(path) as store:
        assert store.user("li") == EDITOR.replace(locked_until=NOW, failed_logins=2, display_name="李 <b>")


def test_a_failed_write_stores_no_user(store):
    with pytest.raises(ValidationError), store.transaction(SETUP) as tx:
        tx.put_user(VIEWER)
        tx.put_user(User("bad", "editor"))
    assert store.user("zhao") is None


def test_tokens_are_found_by_their_hash(store):
    token, digest = accounts.new_token()
    assert token not in digest and digest == accounts.token_hash(token)
    with store.transaction(SETUP) as tx:
        tx.put_user(VIEWER.replace(token_hash=digest))
    assert store.user_by_token(accounts.token_hash(token)).username == "zhao"
    assert store.user_by_token(accounts.token_hash(token + "x")) is None
    assert store.user_by_token(token) is None  # the token itself is not what is stored


def test_user_changes_are_audited_without_hashes(store):
    token, digest = accounts.new_token()
    with store.transaction(Actor("root", "form")) as tx:
        tx.put_user(VIEWER)
    with store.transaction(Actor("root", "form")) as tx:
        tx.put_user(VIEWER.replace(password_hash=accounts.hash_password("another password"), token_hash=digest,
                                   role="editor", scope=("青岛市",)))
    changes, _ = store.changes(ChangeFilter(action="user"))
    updated, created = changes
    assert (created.user, created.channel, created.subject, created.site_id) == ("root", "form", "zhao", None)
    assert created.before is None and created.after["password"] == "set"
    assert updated.before == {"role": "viewer", "scope": [], "token": None, "password": "set"}
    assert updated.after == {"role": "editor", "scope": ["青岛市"], "token": "changed", "password": "changed"}
    text = repr([(c.before, c.after) for c in changes])
    assert "$argon2" not in text and digest not in text and token not in text


def test_login_bookkeeping_is_not_audited(store):
    with store.transaction(SETUP) as tx:
        tx.put_user(VIEWER)
    before = store.changes()[1]
    with store.transaction(Actor("zhao", "form")) as tx:
        tx.note_login(VIEWER.replace(failed_logins=1))
    assert store.user("zhao").failed_logins == 1
    assert store.changes()[1] == before
