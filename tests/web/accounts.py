"""Test accounts, one of each role, and signing in with the Flask test client.

``add_users(store)`` writes them; every web test of permissions uses the same ones:

- admin: everything
- editor: edits sites in 青岛市/市南区 only (qd-a, qd-b in tests/canonical.py)
- city_editor: edits every site in 青岛市
- viewer: reads, sees confidential fields
"""

from __future__ import annotations

import re

from sites import accounts
from sites.accounts import User
from sites.audit import Actor

PASSWORD = "correct horse battery"
ROLES = {"admin": ("admin", ()), "editor": ("editor", ("青岛市/市南区",)),
         "city_editor": ("editor", ("青岛市",)), "viewer": ("viewer", ())}
TOKENS = {name: f"test-token-of-{name}-0123456789abcdef" for name in ROLES}
_HASH = accounts.hash_password(PASSWORD)  # Argon2 is deliberately slow: hash once per test run


def add_users(store) -> None:
    with store.transaction(Actor("setup", "cli")) as tx:
        for name, (role, scope) in ROLES.items():
            tx.put_user(User(name, role, display_name=f"{name} 测试", scope=scope, password_hash=_HASH,
                             token_hash=accounts.token_hash(TOKENS[name])))


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    """Sign in through the real login form (CSRF token included); returns the response."""
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def bearer(name: str) -> dict:
    return {"Authorization": f"Bearer {TOKENS[name]}"}
