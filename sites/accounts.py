"""User accounts, roles and what each may do.

roles
    ``viewer`` reads (and sees confidential fields, see ``hidden_fields``);
    ``editor`` also edits the sites in the cities or districts assigned to them;
    ``admin`` does everything, users included.  Anonymous visitors read public
    fields only.
scope
    An editor's assignment: entries that are a city (``青岛市``) or a district
    of a city (``青岛市/市南区``).  An editor may create or change a site only if
    the site, before and after the change, lies in the scope.

Passwords are hashed with Argon2id (argon2-cffi, the algorithm OWASP recommends
first); API tokens are random 256-bit secrets of which only a SHA-256 is kept.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import ValidationError
from .model import Site

ROLES = {
    "viewer": ("查看者", "Viewer"),
    "editor": ("编辑者", "Editor"),
    "admin": ("管理员", "Administrator"),
}
_RANK = {None: 0, "viewer": 1, "editor": 2, "admin": 3}
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 10
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    username: str
    role: str
    display_name: str | None = None
    scope: tuple[str, ...] = ()
    password_hash: str | None = field(default=None, repr=False)
    token_hash: str | None = field(default=None, repr=False)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    #: changes when the password changes or the account is deactivated: browser sessions carry it,
    #: so every session from before such a change ends (set by the store, see Writer.put_user)
    session_stamp: str | None = field(default=None, repr=False, compare=False)

    def replace(self, **changes) -> "User":
        return replace(self, **changes)

    def record(self) -> dict:
        """What the audit trail keeps of an account: never the hash or the token."""
        return {"username": self.username, "role": self.role, "display_name": self.display_name,
                "scope": list(self.scope), "active": self.active,
                "password": "set" if self.password_hash else None, "token": "set" if self.token_hash else None,
                "locked_until": self.locked_until.isoformat(timespec="seconds") if self.locked_until else None}


def validate_user(user: User) -> None:
    if not isinstance(user.username, str) or not USERNAME.match(user.username):
        raise ValidationError(f"{user.username!r} is not a valid user name (2–64 letters, digits, _ . @ -)",
                              field="username")
    if user.role not in ROLES:
        raise ValidationError(f"{user.role!r} is not one of {', '.join(ROLES)}", field="role")
    for entry in user.scope:
        if not entry or entry.count("/") > 1 or not entry.split("/")[0].endswith("市"):
            raise ValidationError(f"{entry!r} is not a city (青岛市) or a city/district (青岛市/市南区)",
                                  field="scope")
    if user.role == "editor" and not user.scope:
        raise ValidationError("an editor needs at least one city or district to edit", field="scope")


def hash_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError(f"must be at least {MIN_PASSWORD} characters", field="password")
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """True if the password is the user's.  Takes as long for an unknown user (no timing oracle)."""
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY
    try:
        ok = _hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        ok = False
    return ok and user is not None and user.password_hash is not None


_DUMMY = _hasher.hash("not a password of anyone")


def new_token() -> tuple[str, str]:
    """A new API token: (the token to show once, the hash to store)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def new_session_stamp() -> str:
    return secrets.token_hex(8)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_locked(user: User, now: datetime | None = None) -> bool:
    now = now or datetime.now(timezone.utc)
    return user.locked_until is not None and user.locked_until > now


def after_login(user: User, ok: bool, max_failures: int, lockout: timedelta,
                now: datetime | None = None) -> User:
    """The account after a login attempt: failures counted, locked after too many in a row."""
    now = now or datetime.now(timezone.utc)
    if ok:
        return user.replace(failed_logins=0, locked_until=None)
    if user.locked_until is not None and user.locked_until <= now:  # an expired lock: count afresh
        user = user.replace(failed_logins=0, locked_until=None)
    failures = user.failed_logins + 1
    if failures >= max_failures:
        return user.replace(failed_logins=0, locked_until=now + lockout)
    return user.replace(failed_logins=failures)


# --- what a user may do
def has_role(user: User | None, role: str) -> bool:
    """At least this role (viewer < editor < admin); anonymous has none."""
    return user is not None and user.active and _RANK[user.role] >= _RANK[role]


def in_scope(user: User | None, site: Site) -> bool:
    if not has_role(user, "editor"):
        return False
    if user.role == "admin":
        return True
    return site.city in user.scope or f"{site.city}/{site.district}" in user.scope


def can_edit(user: User | None, old: Site | None, new: Site | None = None) -> bool:
    """May this user write the change old -> new (old None: a new site; new None: any change)?"""
    return all(in_scope(user, s) for s in (old, new) if s is not None) and has_role(user, "editor")


def hidden_fields(user: User | None, confidential: frozenset[str], min_role: str = "viewer") -> frozenset[str]:
    """The confidential fields this user may not see (none for min_role and above)."""
    return frozenset() if has_role(user, min_role) else frozenset(confidential)


def removes_last_admin(users, old: User | None, new: User) -> bool:
    """True if changing the account old -> new would leave no active administrator."""
    def admin(u):
        return u is not None and u.role == "admin" and u.active
    return admin(old) and not admin(new) and not any(admin(u) for u in users if u.username != new.username)
