"""Writes through the API: OGC API – Features Part 4 (create, replace, update, delete) on the sites.

- ``POST /collections/sites/items``: a GeoJSON Feature -> 201, ``Location`` and ``ETag``; an
  existing id (retired ones too: ids are never reused) -> 409.
- ``PUT /collections/sites/items/{id}``: replace every stored property with the body's.
- ``PATCH /collections/sites/items/{id}``: an RFC 7396 merge patch of the feature
  (``application/merge-patch+json``: the properties to change, null removes one; optional geometry).
- ``DELETE /collections/sites/items/{id}``: *retires* the site (status ``retired``); sites are never
  deleted, so it stays in the history and in exports on request.

Who: ``Authorization: Bearer <token>`` only (``python -m sites users token NAME``); the session
cookie is never accepted here, which is why these routes need no CSRF token.  An editor writes only
sites in their cities/districts (before and after the change); every write is audited with channel
``api`` and the token's user, by the store, in the write's own transaction.

Concurrency: a site's ETag is its version, ``"v<version>"`` (a strong validator: the version is
bumped by every write of the site's stored record, the thing a write replaces; the derived occupancy
values come from surveys and units, which are written on their own and do not change it).  PUT, PATCH and DELETE need ``If-Match`` with
the ETag the client read: missing -> 428; another version -> 412 and nothing is written.  The
check is repeated by the store inside the write's transaction (``expected_version``), so two
clients racing with the same ETag cannot both win.  ``If-Match: *`` ("any version") is refused
with 428: it would turn the check into a blind overwrite of whatever someone else saved meanwhile,
the lost update the ETag is there to prevent.
"""

from __future__ import annotations

import json
from datetime import date

import shapely
from flask import jsonify, make_response, request
from shapely.errors import ShapelyError
from shapely.geometry import mapping, shape
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import (Forbidden, PreconditionFailed, PreconditionRequired, Unauthorized,
                                 UnsupportedMediaType)

from sites import Conflict, NotFound, Site, ValidationError, accounts
from sites.accounts import User
from sites.audit import site_delta
from sites.schema import BY_NAME, STORED, coerce

from .. import auth
from . import base_url, bp, geojson, params, store

FEATURE_TYPES = (geojson.GEOJSON, "application/json")
MERGE_PATCH = "application/merge-patch+json"
#: the properties a write sets (id travels as the feature's id)
WRITABLE = tuple(f for f in STORED if f.name not in ("id", "version"))
#: what GET returns but no write sets: derived values, the version, a representative point
READ_ONLY = frozenset(f.name for f in BY_NAME.values() if f.derived or f.name == "version") | {"lon", "lat"}
_JSON_TYPES = {"string": str, "enum": str, "date": str, "integer": (int, float), "number": (int, float),
               "boolean": bool, "list": list}


def etag(site: Site) -> str:
    """The (unquoted) entity tag of a site's current version; ``resp.set_etag`` quotes it."""
    return version_tag(site.version)


def version_tag(version: int) -> str:
    return f"v{version}"


# --- the routes
@bp.post("/collections/<cid>/items")
@auth.csrf.exempt
def create_item(cid):
    who = _writer()
    _sites_only(cid)
    body = _json_body(FEATURE_TYPES)
    with store().transaction(auth.actor("api", who)) as tx:
        new = site_from_feature(body, keep=auth.hidden(), today=tx.today)
        auth.require_edit(None, new, who=who)
        if tx.get(new.id) is not None:
            raise Conflict(f"site {new.id!r} exists already and ids are never reused; "
                           f"PUT or PATCH /collections/sites/items/{new.id} changes it")
        tx.put_site(new, expected_version=0)
    return _feature_response(new.id, 201)


@bp.put("/collections/<cid>/items/<fid>")
@auth.csrf.exempt
def replace_item(cid, fid):
    who = _writer()
    _sites_only(cid)
    body = _json_body(FEATURE_TYPES)
    tags = _if_match()
    keep = auth.hidden()  # fields this client cannot read, so cannot send back: kept as stored
    _write(fid, who, tags, lambda old, today: site_from_feature(body, fid, old, keep, today))
    return _feature_response(fid, 200)


@bp.patch("/collections/<cid>/items/<fid>")
@auth.csrf.exempt
def update_item(cid, fid):
    who = _writer()
    _sites_only(cid)
    patch = _json_body((MERGE_PATCH,))
    tags = _if_match()
    if not isinstance(patch, dict):
        raise ValidationError("a merge patch of a feature is a JSON object such as "
                              '{"properties": {"status": "operating"}}', field="body")
    keep = auth.hidden()
    _write(fid, who, tags, lambda old, today: patched_site(old, patch, today, keep))
    return _feature_response(fid, 200)


@bp.delete("/collections/<cid>/items/<fid>")
@auth.csrf.exempt
def retire_item(cid, fid):
    who = _writer()
    _sites_only(cid)
    tags = _if_match()
    saved = _write(fid, who, tags, lambda old, today: old.replace(status="retired"))
    resp = make_response("", 204)
    resp.set_etag(etag(saved))
    return resp


# --- the steps every write shares
def _writer() -> User:
    """The token's user, at least an editor: 401 without a (valid) token, 403 for a viewer."""
    try:
        who = auth.token_user()
    except Unauthorized as exc:
        raise Unauthorized(exc.description,
                           www_authenticate=WWWAuthenticate("bearer", {"error": "invalid_token"})) from None
    if who is None:
        raise Unauthorized("writes need 'Authorization: Bearer <token>' (an API token: python -m sites users "
                           "token NAME); the session cookie is not accepted for API writes",
                           www_authenticate=WWWAuthenticate("bearer"))
    if not accounts.has_role(who, "editor"):
        raise Forbidden(f"user {who.username!r} is a {who.role}: writes need the editor role")
    return who


def _sites_only(cid: str) -> None:
    if cid != "sites":
        raise NotFound(f"collection {cid!r} cannot be written through the API; only sites")


def _json_body(media_types: tuple[str, ...]):
    if request.mimetype not in media_types:
        raise UnsupportedMediaType(f"Content-Type must be {' or '.join(media_types)}, "
                                   f"got {request.mimetype or 'none'}")
    crs = request.headers.get("Content-Crs", "").strip().strip("<>")
    if crs and crs not in params.CRS84_ALIASES:
        raise ValidationError(f"{crs!r}: geometries are written in CRS84 (lon/lat WGS-84) only",
                              field="Content-Crs")
    try:
        return json.loads(request.get_data(cache=False), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ValidationError(f"the body is not JSON ({exc})", field="body") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _if_match():
    """The If-Match entity tags; 428 when there are none or only '*' (see the module docstring)."""
    if not request.headers.get("If-Match", "").strip():
        raise PreconditionRequired("send If-Match with the ETag of the version you edited "
                                   "(the ETag header of GET /collections/sites/items/{id})")
    tags = request.if_match
    if tags.star_tag:
        raise PreconditionRequired("If-Match: * is not accepted (it would overwrite changes you have not seen); "
                                   "send the ETag of the version you edited")
    return tags


def _write(fid: str, who: User, tags, change) -> Site:
    """Change one site in one transaction: 404, 403 (old site), 412, then the change(old, today)
    (400), 403 (new site), and the store's own version check (a race -> 412)."""
    try:
        with store().transaction(auth.actor("api", who)) as tx:
            old = tx.get(fid)
            if old is None:
                raise NotFound(f"no site {fid!r}")
            auth.require_edit(old, who=who)
            expected = _expected_version(tags, old)
            new = _stamp(change(old, tx.today), old, tx.today)
            auth.require_edit(old, new, who=who)
            return tx.put_site(new, expected_version=expected)
    except Conflict as exc:  # another write got in between our check and our write
        raise PreconditionFailed(str(exc)) from None


def _expected_version(tags, old: Site) -> int:
    """The version the client's If-Match names, if it is the current one (strong comparison: a
    weak W/"v3" never matches); else 412."""
    if not tags.contains(etag(old)):
        raise PreconditionFailed(f"site {old.id!r} has changed: it is at ETag \"{etag(old)}\", your If-Match is "
                                 f"{request.headers.get('If-Match')}; GET it again, redo your change and send "
                                 "the new ETag")
    return old.version


def _stamp(new: Site, old: Site, today: date) -> Site:
    """last_updated becomes today when anything else changed, unless the body gave another date."""
    changed = set(site_delta(old, new)[1]) - {"last_updated"}
    if changed and new.last_updated == old.last_updated:
        return new.replace(last_updated=today)
    return new


def _feature_response(fid: str, status: int):
    """The site as stored now (derived values included), with its ETag; 201 adds its Location."""
    site = store().get(fid)
    feature = geojson.site_feature(site)
    hidden = auth.hidden()
    feature["properties"] = {k: v for k, v in feature["properties"].items() if k not in hidden}
    url = f"{base_url()}/collections/sites/items/{fid}"
    feature["links"] = [{"rel": "self", "type": geojson.GEOJSON, "href": url}]
    resp = jsonify(feature)
    resp.status_code = status
    resp.mimetype = geojson.GEOJSON
    resp.set_etag(etag(site))
    if status == 201:
        resp.headers["Location"] = url
    return resp


# --- from a GeoJSON feature to a site
def site_from_feature(body, fid: str | None = None, old: Site | None = None, keep=frozenset(),
                      today: date | None = None, strict: bool = False) -> Site:
    """A site from a GeoJSON Feature.  Every writable property comes from the body; a missing
    optional one becomes null, except fields in ``keep`` (kept from ``old``), first_added
    (kept, or today for a new site) and last_updated (kept, or today; see _stamp).  Read-only properties
    (derived ones, version, lon, lat) are ignored so that a feature read with GET can be sent
    back, unless ``strict``.  Each error is a ValidationError naming the field."""
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise ValidationError('the body must be a GeoJSON Feature: {"type": "Feature", "id": ..., '
                              '"geometry": ..., "properties": {...}}', field="type")
    props = body.get("properties")
    props = {} if props is None else props
    if not isinstance(props, dict):
        raise ValidationError("must be an object", field="properties")
    for name in props:
        if name in READ_ONLY and strict:
            raise ValidationError("is read-only (derived from the surveys and units, or kept by the server)",
                                  field=name)
        if name in keep or (name not in READ_ONLY and name != "id" and name not in _WRITABLE_NAMES):
            writable = ", ".join(n for n in _WRITABLE_NAMES if n not in keep)
            raise ValidationError(f"unknown property; the writable ones are {writable}",
                                  field=_text(name, "properties"))
    values = {}
    for f in WRITABLE:
        if f.name in props:
            values[f.name] = _value(f, props[f.name])
        elif old is not None and (f.name in keep or f.name in ("first_added", "last_updated")):
            values[f.name] = getattr(old, f.name)
        else:
            values[f.name] = _value(f, None)
    if values["first_added"] is None:
        values["first_added"] = today or date.today()
    if values["last_updated"] is None and old is None:
        values["last_updated"] = today or date.today()
    return Site(id=_feature_id(body, props, fid), geometry=_geometry(body.get("geometry")), **values)


_WRITABLE_NAMES = tuple(f.name for f in WRITABLE)


def patched_site(old: Site, patch: dict, today: date, keep=frozenset()) -> Site:
    """The site after an RFC 7396 merge patch of its feature (read-only properties refused; those
    in ``keep``, which the client may not see, are unknown to it and kept as stored)."""
    props = {f.name: _json_value(getattr(old, f.name)) for f in WRITABLE if f.name not in keep}
    target = {"type": "Feature", "id": old.id, "geometry": mapping(old.geometry), "properties": props}
    merged = merge_patch(target, patch)
    if isinstance(merged, dict) and isinstance(merged.get("properties"), dict):
        for name in _WRITABLE_NAMES:  # removed by the patch: null (not kept, as an absent one is in a PUT)
            if name not in keep:
                merged["properties"].setdefault(name, None)
    return site_from_feature(merged, old.id, old, keep, today=today, strict=True)


def merge_patch(target, patch):
    """RFC 7396: objects merge member by member, null removes a member, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _json_value(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _value(f, raw):
    """A JSON value of the field's type, coerced as everywhere else (sites.schema.coerce)."""
    if raw is not None:
        ok = isinstance(raw, _JSON_TYPES[f.type]) and not (isinstance(raw, bool) and f.type in ("integer", "number"))
        if ok and f.type == "list":
            ok = all(isinstance(item, str) for item in raw)
        if not ok:
            kind = "a list of strings" if f.type == "list" else f"a JSON {_JSON_NAMES[f.type]}"
            raise ValidationError(f"must be {kind}, got {json.dumps(raw, ensure_ascii=False)[:80]}", field=f.name)
        for text in (raw if f.type == "list" else [raw] if isinstance(raw, str) else []):
            _text(text, f.name)
    return coerce(f, raw)


_JSON_NAMES = {"string": "string", "enum": "string", "date": "string (YYYY-MM-DD)", "integer": "integer",
               "number": "number", "boolean": "boolean (true or false)", "list": "array"}


def _text(value, field: str) -> str:
    """A string the store can keep (JSON allows lone surrogates, UTF-8 does not)."""
    try:
        value.encode("utf-8")
    except (UnicodeEncodeError, AttributeError):
        raise ValidationError("is not valid Unicode text", field=field) from None
    return value


def _feature_id(body: dict, props: dict, fid: str | None) -> str:
    ids = [(where, v) for where, v in (("id", body.get("id")), ("properties.id", props.get("id"))) if v is not None]
    for where, value in ids:
        if not isinstance(value, str):
            raise ValidationError(f"must be a string, got {json.dumps(value)[:40]}", field=where)
        _text(value, where)
    values = {v for _, v in ids}
    if len(values) > 1:
        raise ValidationError("the feature's id and properties.id differ", field="id")
    sid = values.pop() if values else fid
    if sid is None:
        raise ValidationError("is required: the feature's id (a readable slug such as qd-yunxin)", field="id")
    if fid is not None and sid != fid:
        raise ValidationError(f"{sid!r} is not the id in the URL ({fid!r}); ids cannot be changed", field="id")
    return sid


def _geometry(raw):
    if raw is None:
        raise ValidationError("is required: a GeoJSON Point, Polygon or MultiPolygon in lon/lat (WGS-84)",
                              field="geometry")
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise ValidationError("must be a GeoJSON geometry object with a type and coordinates", field="geometry")
    try:
        geom = shape(raw)
        return shapely.force_2d(geom) if geom.has_z else geom
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, ShapelyError) as exc:
        raise ValidationError(f"is not a valid GeoJSON geometry ({exc})", field="geometry") from None
