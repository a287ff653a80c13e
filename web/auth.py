"""Signing in, who the request is from, and what they may see and do.

- Browsers sign in with a password (Flask-Login keeps the session; the cookie is
  HttpOnly, SameSite=Lax and Secure unless SESSION_COOKIE_SECURE is false).
- API clients send ``Authorization: Bearer <token>`` (``python -m sites users token NAME``).
  The API's write endpoints accept only tokens, never the session cookie, so a
  page on another site cannot make a signed-in browser write through them.
- Every form post carries a CSRF token (Flask-WTF's CSRFProtect); the API
  blueprint is exempt because it does not accept cookies for writes.
- Repeated failed logins lock the account for a while (LOGIN_MAX_FAILURES,
  LOGIN_LOCKOUT_MINUTES), counted in the store so that every server process agrees.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import Forbidden, Unauthorized

from sites import accounts
from sites.accounts import User
from sites.audit import Actor

from . import current_store

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()


class SessionUser(UserMixin):
    """Flask-Login's view of an account.  The session id includes the account's session stamp,
    which the store renews when the password changes or the account is deactivated: every
    session from before then ends, and stays ended if the account is reactivated."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.username}:{self.user.session_stamp or ''}"

    @property
    def is_active(self) -> bool:
        return self.user.active


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a request without a session cookie (an API
    client's) gets an empty session without building the cookie's signing serializer, which Flask
    does on every request (about a sixth of a single item's time).  Saving a new session builds it."""

    def open_session(self, app, request):
        if app.secret_key and app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def init(app) -> None:
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:  # Flask's own default is None: setdefault did nothing
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config.get("PERMANENT_SESSION_LIFETIME") == timedelta(days=31):  # Flask's default: too long
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=8)  # a working day, then sign in again
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    app.session_interface = _SessionInterface()
    csrf.init_app(app)
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.login_message = None
    manager.session_protection = "basic"

    @manager.user_loader
    def load(session_id: str):
        username, _, stamp = session_id.rpartition(":")
        user = current_store().user(username)
        if user is None or not user.active or not user.session_stamp or user.session_stamp != stamp:
            return None
        return SessionUser(user)

    @manager.unauthorized_handler
    def unauthorized():
        if _wants_page():
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        raise Unauthorized(_("sign in first"))

    app.register_blueprint(bp)

    @app.context_processor
    def who():
        return {"me": user(), "may": may}


def _wants_page() -> bool:
    return request.accept_mimetypes.best == "text/html" or request.args.get("f") == "html"


# --- who is asking
def user() -> User | None:
    """The signed-in user of this browser session, or None."""
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies and not session.modified:
        # no session: nobody signed in (API clients), and Flask-Login need not load one (it hashes the
        # client's address and user agent on every request, for its session protection)
        return None
    return current_user.user if current_user.is_authenticated else None


def token_user() -> User | None:
    """The user of this request's bearer token (the API's writes), or None; a wrong token is a 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization: use 'Bearer <token>'")
    if "token_user" not in g:  # looked up once a request (a write asks for it, and for hidden(), again)
        g.token_user = current_store().user_by_token(accounts.token_hash(token.strip()))
    found = g.token_user
    if found is None or not found.active:
        raise Unauthorized("Authorization: unknown or revoked token")
    return found


def may(role: str) -> bool:
    return accounts.has_role(user(), role)


def hidden() -> frozenset[str]:
    """The confidential fields the current request may not see (token, then session)."""
    who = _request_user()
    cfg = current_app.config
    return accounts.hidden_fields(who, cfg["CONFIDENTIAL_FIELDS"], cfg["CONFIDENTIAL_ROLE"])


def _request_user() -> User | None:
    try:
        return token_user() or user()
    except Unauthorized:
        return None


def actor(channel: str, who: User | None = None) -> Actor:
    who = who or user()
    return Actor(who.username, channel)


def require(role: str):
    """A page for signed-in users of at least this role (anonymous: to the login page; too low: 403)."""
    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not may(role):
                raise Forbidden(_("this needs the %(role)s role", role=_role_label(role)))
            return view(*args, **kwargs)
        return inner
    return wrap


def require_edit(old, new=None, who: User | None = None) -> None:
    """Forbidden unless the user may edit these sites (their role and their cities/districts)."""
    who = who or user()
    if not accounts.can_edit(who, old, new):
        site = new or old
        raise Forbidden(_("you may not edit sites in %(place)s", place=f"{site.city}{site.district or ''}")
                        if site is not None else _("this needs the %(role)s role", role=_role_label("editor")))


def _role_label(role: str) -> str:
    from .i18n import language
    zh, en = accounts.ROLES[role]
    return zh if language() == "zh" else en


# --- signing in and out
@bp.route("/login", methods=["GET", "POST"])
def login():
    nxt = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=nxt, insecure=_insecure_cookie())
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    ok, message = attempt(username, password)
    if not ok:
        return render_template("login.html", next=nxt, username=username, error=message,
                               insecure=_insecure_cookie()), 401
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME, not only when the browser closes
    login_user(SessionUser(current_store().user(username)))
    return redirect(nxt or "/?f=html")


def attempt(username: str, password: str) -> tuple[bool, str | None]:
    """Check a password, counting failures and locking the account after too many."""
    store, cfg = current_store(), current_app.config
    locked = _("too many failed attempts: this account is locked for a while; try again later "
               "or ask an administrator to unlock it")
    found = store.user(username)
    if found is not None and accounts.is_locked(found):
        return False, locked
    ok = accounts.check_password(found, password) and found.active  # slow (Argon2): outside the write lock
    if found is not None:
        # read, count and write in one transaction, so that parallel attempts cannot lose a failure
        with store.transaction(Actor(found.username, "form")) as tx:
            fresh = tx.user(username)
            if fresh is None:
                return False, _("wrong user name or password")
            if accounts.is_locked(fresh):  # locked by a parallel attempt meanwhile
                return False, locked
            after = accounts.after_login(fresh, ok, cfg["LOGIN_MAX_FAILURES"],
                                         timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"]))
            if after != fresh:
                tx.note_login(after)
        if not ok and accounts.is_locked(after):
            return False, locked
    if not ok:
        return False, _("wrong user name or password")
    return True, None


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("signed out"))
    return redirect("/?f=html")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no open redirect).  Browsers read a backslash as a slash and
    drop tabs and new lines, so ``/\\evil`` or ``/<tab>/evil`` would mean ``//evil``: refused too."""
    if not target or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _insecure_cookie() -> bool:
    """True when the login cookie is Secure but this page came over plain HTTP from a
    non-loopback host: the browser would drop the cookie and signing in would fail."""
    if not current_app.config.get("SESSION_COOKIE_SECURE") or request.is_secure:
        return False
    host = (request.host or "").rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True

