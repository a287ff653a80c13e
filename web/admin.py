"""The administrators' pages: user accounts (list, create, edit, password, API token, unlock).

Every change goes through a store transaction with the channel "form", so the
audit trail records it (without hashes or tokens).  A bad field re-renders the
form with the error next to the field; the last active administrator cannot be
demoted or deactivated.  A new API token is shown once, on the page that issued it.
"""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user

from sites import accounts
from sites.accounts import ROLES, User
from sites.errors import NotFound, ValidationError

from . import auth, current_store

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _account(name: str) -> User:
    user = current_store().user(name)
    if user is None:
        raise NotFound(_("no user %(name)s", name=name))
    return user


# --- the list and the create form
@bp.get("/users")
@auth.require("admin")
def users():
    return _users_page()


@bp.post("/users")
@auth.require("admin")
def create():
    form = request.form
    name = form.get("username", "").strip()
    user = User(name, form.get("role", ""), display_name=form.get("display_name", "").strip() or None,
                scope=parse_scope(form.get("scope", "")))
    errors = _check(user)
    if current_store().user(name) is not None:
        errors["username"] = _("this user name is taken")
    password = _new_password(form, errors)
    if errors:
        return _users_page(errors, form), 400
    _save(user.replace(password_hash=password))
    flash(_("user %(name)s created", name=name))
    return redirect(url_for("admin.user", name=name))


def _users_page(errors: dict | None = None, form=None):
    return render_template("admin_users.html", users=current_store().users(), roles=_roles(), errors=errors or {},
                           form=form or {}, locked=accounts.is_locked)


# --- one account
@bp.get("/users/<name>")
@auth.require("admin")
def user(name):
    return _user_page(_account(name))


@bp.post("/users/<name>")
@auth.require("admin")
def edit(name):
    old, form = _account(name), request.form
    new = old.replace(role=form.get("role", ""), scope=parse_scope(form.get("scope", "")),
                      display_name=form.get("display_name", "").strip() or None, active=form.get("active") == "on")
    errors = _check(new)
    if not errors and accounts.removes_last_admin(current_store().users(), old, new):
        errors["role" if new.role != "admin" else "active"] = _(
            "%(name)s is the last active administrator: make another user an administrator first", name=name)
    if errors:
        return _user_page(new, errors, form), 400
    _save(new)
    flash(_("user %(name)s saved", name=name))
    return redirect(url_for("admin.user", name=name))


@bp.post("/users/<name>/password")
@auth.require("admin")
def password(name):
    old, errors = _account(name), {}
    hashed = _new_password(request.form, errors)
    if errors:
        return _user_page(old, errors), 400
    new = _save(old.replace(password_hash=hashed))
    if new.username == auth.user().username:
        login_user(auth.SessionUser(new))  # the admin's own session stays; every other one has ended
    flash(_("password of %(name)s changed; their other sessions have ended", name=name))
    return redirect(url_for("admin.user", name=name))


@bp.post("/users/<name>/token")
@auth.require("admin")
def token(name):
    token, digest = accounts.new_token()
    new = _save(_account(name).replace(token_hash=digest))
    resp = make_response(_user_page(new, new_token=token))
    resp.headers["Cache-Control"] = "no-store"  # the token is shown once and must not be cached
    return resp


@bp.post("/users/<name>/revoke-token")
@auth.require("admin")
def revoke_token(name):
    _save(_account(name).replace(token_hash=None))
    flash(_("API token of %(name)s revoked", name=name))
    return redirect(url_for("admin.user", name=name))


@bp.post("/users/<name>/unlock")
@auth.require("admin")
def unlock(name):
    _save(_account(name).replace(failed_logins=0, locked_until=None))
    flash(_("%(name)s unlocked", name=name))
    return redirect(url_for("admin.user", name=name))


def _user_page(u: User, errors: dict | None = None, form=None, new_token: str | None = None):
    return render_template("admin_user.html", u=u, roles=_roles(), errors=errors or {}, form=form,
                           new_token=new_token, locked=accounts.is_locked(u))


# --- helpers
def parse_scope(text: str) -> tuple[str, ...]:
    """'青岛市/市南区, 西安市' (commas, full-width commas or new lines) -> ('青岛市/市南区', '西安市')."""
    entries = text.replace("，", ",").replace("\n", ",").split(",")
    return tuple(dict.fromkeys(e.strip() for e in entries if e.strip()))


def _save(user: User) -> User:
    with current_store().transaction(auth.actor("form")) as tx:
        return tx.put_user(user)


def _check(user: User) -> dict[str, str]:
    """The user's field errors, in the page's language: {field: message}."""
    try:
        accounts.validate_user(user)
    except ValidationError as exc:
        return {exc.field: _field_message(exc.field, user)}
    return {}


def _field_message(field: str, user: User) -> str:
    if field == "username":
        return _("2 to 64 letters, digits or _ . @ -")
    if field == "role":
        return _("choose viewer, editor or administrator")
    if field == "scope" and user.role == "editor" and not user.scope:
        return _("an editor needs at least one city or district to edit")
    return _("each entry must be a city (青岛市) or a city and district (青岛市/市南区), separated by commas")


def _new_password(form, errors: dict) -> str | None:
    """The hash of the form's password (typed twice), or None with errors['password'] set."""
    password = form.get("password", "")
    if len(password) < accounts.MIN_PASSWORD:
        errors["password"] = _("at least %(n)d characters", n=accounts.MIN_PASSWORD)
    elif form.get("password2", "") != password:
        errors["password2"] = _("the two passwords differ")
    else:
        return accounts.hash_password(password)
    return None


def _roles() -> list[tuple[str, str]]:
    from .i18n import language
    zh = language() == "zh"
    return [(key, labels[0] if zh else labels[1]) for key, labels in ROLES.items()]
