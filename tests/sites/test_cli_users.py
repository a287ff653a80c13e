"""``python -m sites users ...`` and ``changes`` through the in-process entry point, on a real GeoPackage."""

import io
import json
import re

import pytest

from sites import accounts, cli
from sites.audit import ChangeFilter
from sites.stores import open_store
from tests import canonical

PASSWORD = "correct horse battery"


@pytest.fixture
def gpkg(tmp_path):
    path = tmp_path / "canonical.gpkg"
    canonical.load(open_store(str(path), create=True)).close()
    return str(path)


@pytest.fixture
def sites(gpkg, capsys, monkeypatch):
    """Run a command: sites("users", "list", stdin=...) -> (exit code, stdout, stderr)."""
    def run(*args, stdin=None, user="boss"):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin or ""))
        capsys.readouterr()
        code = cli.main(["--store", gpkg, "--user", user, *args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def stored(gpkg, name):
    with open_store(gpkg) as store:
        return store.user(name)


def user_changes(gpkg):
    with open_store(gpkg) as store:
        return store.changes(ChangeFilter(action="user", limit=None))[0]


def add(sites, name="li", *extra, password=PASSWORD):
    return sites("users", "add", name, *extra, "--password-stdin", stdin=password + "\n")


def test_add_an_editor_with_a_scope(sites, gpkg):
    code, out, _ = add(sites, "li", "--role", "editor", "--scope", "青岛市/市南区,西安市", "--display-name", "李 雷")
    assert code == 0, out
    user = stored(gpkg, "li")
    assert (user.role, user.scope, user.display_name, user.active) == ("editor", ("青岛市/市南区", "西安市"), "李 雷", True)
    assert accounts.check_password(user, PASSWORD)
    assert PASSWORD not in user.password_hash


def test_add_is_audited_as_cli_by_the_user_flag(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    [change] = user_changes(gpkg)
    assert (change.user, change.channel, change.action, change.subject) == ("boss", "cli", "user", "li")
    assert "argon2" not in json.dumps(change.after)


def test_add_asks_for_the_password_twice(sites, gpkg, monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, _ = sites("users", "add", "li", "--role", "viewer")
    assert code == 0 and accounts.check_password(stored(gpkg, "li"), PASSWORD)


def test_two_different_passwords_are_refused(sites, gpkg, monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = sites("users", "add", "li", "--role", "viewer")
    assert code == 2 and "password" in err
    assert stored(gpkg, "li") is None


@pytest.mark.parametrize("args,password,field", [
    (("li", "--role", "viewer"), "short", "password"),
    (("li", "--role", "boss"), PASSWORD, "role"),
    (("li", "--role", "editor"), PASSWORD, "scope"),
    (("li", "--role", "editor", "--scope", "市南区"), PASSWORD, "scope"),
    (("l", "--role", "viewer"), PASSWORD, "username"),
])
def test_add_errors_exit_2_naming_the_field(sites, gpkg, args, password, field):
    code, _, err = sites("users", "add", *args, "--password-stdin", stdin=password + "\n")
    assert code == 2
    assert f"field '{field}'" in err
    with open_store(gpkg) as store:
        assert store.users() == []


def test_adding_an_existing_user_is_refused(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    code, _, err = add(sites, "li", "--role", "admin")
    assert code == 2 and "username" in err and "exists" in err
    assert stored(gpkg, "li").role == "viewer"


@pytest.mark.parametrize("command", [("set", "--role", "viewer"), ("password", "--password-stdin"), ("token",),
                                     ("revoke-token",), ("unlock",)])
def test_an_unknown_user_exits_2(sites, command):
    code, _, err = sites("users", command[0], "nobody", *command[1:], stdin=PASSWORD + "\n")
    assert code == 2 and "username" in err and "nobody" in err


def test_list_shows_every_account(sites, gpkg):
    add(sites, "li", "--role", "editor", "--scope", "青岛市/市南区")
    add(sites, "root", "--role", "admin")
    code, out, _ = sites("users", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["username", "role", "scope", "active", "locked"]
    assert lines[2].split()[:4] == ["li", "editor", "青岛市/市南区", "yes"]
    assert lines[3].split()[:3] == ["root", "admin", "yes"]
    assert "argon2" not in out


def test_list_shows_a_locked_account(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    _lock(gpkg, "li")
    _, out, _ = sites("users", "list")
    assert re.match(r"li\s+viewer\s+yes\s+\d{4}-\d\d-\d\d \d\d:\d\d", out.splitlines()[2])  # locked until


def _lock(gpkg, name):
    from datetime import datetime, timedelta, timezone
    from sites.audit import Actor
    with open_store(gpkg) as store, store.transaction(Actor("x", "form")) as tx:
        tx.note_login(store.user(name).replace(locked_until=datetime.now(timezone.utc) + timedelta(hours=1)))


def test_set_changes_role_scope_name_and_state(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    code, _, _ = sites("users", "set", "li", "--role", "editor", "--scope", "青岛市", "--display-name", "Li")
    assert code == 0
    assert stored(gpkg, "li").replace(password_hash=None) == accounts.User("li", "editor", "Li", ("青岛市",))
    assert sites("users", "set", "li", "--inactive")[0] == 0
    assert stored(gpkg, "li").active is False
    assert sites("users", "set", "li", "--active")[0] == 0
    assert stored(gpkg, "li").active is True
    change = user_changes(gpkg)[0]
    assert change.channel == "cli" and change.before == {"active": False} and change.after == {"active": True}


def test_set_with_nothing_to_change_exits_2(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    code, _, err = sites("users", "set", "li")
    assert code == 2 and "--role" in err


def test_set_an_editor_without_scope_exits_2(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    code, _, err = sites("users", "set", "li", "--role", "editor")
    assert code == 2 and "field 'scope'" in err
    assert stored(gpkg, "li").role == "viewer"


def test_the_last_admin_cannot_be_demoted_or_deactivated(sites, gpkg):
    add(sites, "root", "--role", "admin")
    for args in (("--role", "viewer"), ("--inactive",)):
        code, _, err = sites("users", "set", "root", *args)
        assert code == 2 and "last active administrator" in err
    assert stored(gpkg, "root").role == "admin" and stored(gpkg, "root").active
    add(sites, "root2", "--role", "admin")
    assert sites("users", "set", "root", "--role", "viewer")[0] == 0


def test_password_sets_a_new_password(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    code, _, _ = sites("users", "password", "li", "--password-stdin", stdin="a new password!\n")
    assert code == 0
    assert accounts.check_password(stored(gpkg, "li"), "a new password!")
    assert not accounts.check_password(stored(gpkg, "li"), PASSWORD)
    assert user_changes(gpkg)[0].after == {"password": "changed"}


def test_a_short_new_password_is_refused(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    code, _, err = sites("users", "password", "li", "--password-stdin", stdin="short\n")
    assert code == 2 and "field 'password'" in err
    assert accounts.check_password(stored(gpkg, "li"), PASSWORD)


def test_token_prints_a_new_token_and_the_old_stops_working(sites, gpkg):
    add(sites, "li", "--role", "editor", "--scope", "青岛市")
    _, first, _ = sites("users", "token", "li")
    code, second, _ = sites("users", "token", "li")
    first, second = first.strip(), second.strip()
    assert code == 0 and len(second) >= 40 and first != second
    with open_store(gpkg) as store:
        assert store.user_by_token(accounts.token_hash(second)).username == "li"
        assert store.user_by_token(accounts.token_hash(first)) is None
    change = user_changes(gpkg)[0]
    assert change.after == {"token": "changed"} and second not in json.dumps(change.after)


def test_revoke_token(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    _, token, _ = sites("users", "token", "li")
    assert sites("users", "revoke-token", "li")[0] == 0
    assert stored(gpkg, "li").token_hash is None
    with open_store(gpkg) as store:
        assert store.user_by_token(accounts.token_hash(token.strip())) is None


def test_unlock(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    _lock(gpkg, "li")
    assert accounts.is_locked(stored(gpkg, "li"))
    code, out, _ = sites("users", "unlock", "li")
    assert code == 0 and "unlocked" in out
    assert not accounts.is_locked(stored(gpkg, "li"))


# --- the audit trail
def test_changes_lists_the_trail_newest_first(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    sites("users", "set", "li", "--display-name", "Li", user="alice")
    code, out, _ = sites("changes", "--limit", "2")
    assert code == 0
    header, _, newest, older = out.splitlines()[:4]
    assert header.split()[:3] == ["when", "(UTC)", "who"]
    assert newest.split()[2:6] == ["alice", "cli", "user", "user"] and "display_name" in newest
    assert older.split()[2:4] == ["boss", "cli"]


@pytest.mark.parametrize("args,expected", [
    (("--site", "qd-a"), {"qd-a"}),
    (("--by", "alice"), {"alice"}),
    (("--channel", "cli", "--action", "user"), {"user"}),
])
def test_changes_filters(sites, gpkg, args, expected):
    add(sites, "li", "--role", "viewer", password=PASSWORD)
    sites("users", "set", "li", "--display-name", "Li", user="alice")
    code, out, _ = sites("changes", *args, "--limit", "1000", "--json")
    rows = json.loads(out)
    assert code == 0 and rows
    key = {"--site": "site_id", "--by": "user", "--channel": "action"}[args[0]]
    assert {r[key] for r in rows} == expected


def test_changes_since_a_date(sites, gpkg):
    assert json.loads(sites("changes", "--since", "2999-01-01", "--json")[1]) == []
    rows = json.loads(sites("changes", "--since", "2000-01-01", "--limit", "5", "--json")[1])
    assert len(rows) == 5 and rows[0]["at"].endswith("Z")


def test_changes_json_has_before_and_after(sites, gpkg):
    add(sites, "li", "--role", "viewer")
    sites("users", "set", "li", "--role", "admin")
    [row] = json.loads(sites("changes", "--action", "user", "--limit", "1", "--json")[1])
    assert (row["before"], row["after"], row["subject"], row["channel"]) == (
        {"role": "viewer"}, {"role": "admin"}, "li", "cli")


@pytest.mark.parametrize("args,field", [
    (("--channel", "fax"), "channel"), (("--action", "delete"), "action"),
    (("--since", "yesterday"), "since"), (("--limit", "0"), "limit"), (("--limit", "ten"), "limit"),
])
def test_changes_bad_filters_exit_2_naming_the_field(sites, args, field):
    code, _, err = sites("changes", *args)
    assert code == 2 and f"field '{field}'" in err
