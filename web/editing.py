"""The editing forms: create a site, edit it, record a survey, edit its units, retire it.

Each view parses the form with ``sites.schema.coerce`` (the same coercion as the import),
checks the user's role and scope (``web.auth``), writes in one transaction as
``auth.actor("form")`` (the store's writer validates every record and records the one audit
entry) and redirects to the site page.  A bad value shows the form again, unsaved, with the
error next to its field; a save from an out-of-date edit form is refused and shows what
changed meanwhile.  Positions are typed in WGS-84, GCJ-02 or BD-09 (or clicked on the map,
static/js/placepicker.js) and stored as WGS-84.  Confidential fields the user may not see
are neither shown nor changed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from shapely.geometry import Point
from werkzeug.exceptions import BadRequest

from sites import accounts, audit, chinacrs, schema
from sites.audit import ChangeFilter, units_record
from sites.errors import Conflict, ValidationError
from sites.model import Site, Survey, Unit
from sites.validation import validate_units

from . import auth, current_store
from .i18n import language
from .maps import basemaps

bp = Blueprint("editing", __name__)

#: the fields a site form edits: every stored field but the version
SITE_FIELDS = tuple(f for f in schema.FIELDS if not f.derived and f.name != "version")
SURVEY_INPUTS = tuple(f for f in schema.SURVEY_FIELDS if f.name != "site_id")
UNIT_INPUTS = tuple(f for f in schema.UNIT_FIELDS if f.name != "site_id")
#: the coordinate systems a position may be typed in -> (Chinese label, English label)
CRS_CHOICES = {
    "WGS-84": ("WGS-84(GPS、天地图)", "WGS-84 (GPS, Tianditu)"),
    "GCJ-02": ("GCJ-02(高德、腾讯地图)", "GCJ-02 (Gaode/AMap, Tencent)"),
    "BD-09": ("BD-09(百度地图)", "BD-09 (Baidu)"),
}
#: the start of a proposed id, by city (the seed data's convention)
CITY_PREFIX = {"青岛市": "qd", "西安市": "xa", "南京市": "nj",
               "杭州市": "hz", "宁波市": "nb", "成都市": "cd"}
BLANK_UNIT_ROWS = 3
_POSITION_FIELDS = ("geometry", "lon", "lat", "crs", "position")


# --- the views
@bp.route("/sites/new", methods=["GET", "POST"])
@auth.require("editor")
def create():
    if request.method == "GET":
        return _site_form(None, _new_values(), {})
    site, errors = parse_site(request.form, None, auth.hidden())
    if site is not None:
        auth.require_edit(None, site)
        site, errors = _write(lambda tx: _insert(tx, site, proposed=not request.form.get("id", "").strip()))
    if errors:
        return _site_form(None, request.form, errors), 400
    flash(_("Site %(id)s created.", id=site.id))
    return redirect(url_for("pages.site_page", site_id=site.id))


@bp.route("/sites/<site_id>/edit", methods=["GET", "POST"])
@auth.require("editor")
def edit(site_id):
    old = current_store().get(site_id)
    auth.require_edit(old)
    if request.method == "GET":
        return _site_form(old, _site_values(old), {}, version=old.version)
    version = _version(request.form)
    site, errors = parse_site(request.form, old, auth.hidden())
    if site is not None:
        auth.require_edit(old, site)
        try:
            errors = _write(lambda tx: tx.put_site(site, expected_version=version))[1]
        except Conflict:
            current = current_store().get(site_id)
            return _site_form(current, request.form, {}, version=current.version,
                              meanwhile=changed_since(site_id, version)), 409
    if errors:
        return _site_form(old, request.form, errors, version=version), 400
    flash(_("Saved."))
    return redirect(url_for("pages.site_page", site_id=site_id))


@bp.route("/sites/<site_id>/survey", methods=["GET", "POST"])
@auth.require("editor")
def survey(site_id):
    site = current_store().get(site_id)
    auth.require_edit(site)
    if request.method == "GET":
        return _survey_form(site, _survey_values(site), {})
    new, errors = parse_survey(request.form, site.id)
    if new is not None:
        day = new.survey_date.isoformat()
        existing = next((v for v in current_store().surveys(site_id) if v.survey_date == new.survey_date), None)
        if existing is not None and existing != new and request.form.get("replace") != day:
            message = _("there is a survey of %(date)s already (leasable %(leasable)s m², occupied %(occupied)s m², "
                        "source %(source)s): tick “replace it” to overwrite it, or choose another date", date=day,
                        leasable=_number_text(existing.leasable_area_m2),
                        occupied=_number_text(existing.occupied_area_m2), source=existing.source or "—")
            return _survey_form(site, request.form, {"survey_date": message}, replace=day), 409
        errors = _write(lambda tx: tx.put_survey(new))[1]
    if errors:
        return _survey_form(site, request.form, errors), 400
    flash(_("Survey of %(date)s recorded.", date=new.survey_date.isoformat()))
    return redirect(url_for("pages.site_page", site_id=site_id))


@bp.route("/sites/<site_id>/units", methods=["GET", "POST"])
@auth.require("editor")
def units(site_id):
    s = current_store()
    site = s.get(site_id)
    auth.require_edit(site)
    old = s.units(site_id)
    if request.method == "GET":
        return _units_form(site, [_unit_values(u) for u in old], {}, stamp=units_stamp(old))
    rows = unit_rows(request.form)
    stamp = request.form.get("units_stamp", "")
    if request.form.get("action") == "more":  # without JavaScript: more empty rows, nothing saved
        return _units_form(site, rows, {}, blank=BLANK_UNIT_ROWS * 2, stamp=stamp)
    new, errors = parse_units(rows, site, old, auth.hidden())

    def save(tx):
        current = tx.units(site_id)
        if units_stamp(current) != stamp:  # someone saved the units since this form was opened
            raise Conflict(_("the units were changed by someone else since you opened this form; nothing was "
                             "saved: compare with the change log below, then save again"))
        tx.set_units(site_id, new)

    if not errors:
        try:
            errors = _write(save)[1]
        except Conflict as exc:
            current = s.units(site_id)
            meanwhile = current_store().changes(ChangeFilter(site_id=site_id, action="units", limit=3))[0]
            return _units_form(site, rows, {"form": exc.message}, stamp=units_stamp(current),
                               meanwhile=meanwhile), 409
    if errors:
        return _units_form(site, rows, errors, stamp=stamp), 400
    flash(_("Units saved."))
    return redirect(url_for("pages.site_page", site_id=site_id))


@bp.route("/sites/<site_id>/retire", methods=["GET", "POST"])
@auth.require("editor")
def retire(site_id):
    site = current_store().get(site_id)
    auth.require_edit(site)
    if request.method == "GET" or site.status == "retired":
        return _retire_page(site, site.version)
    version = _version(request.form)
    retired = site.replace(status="retired")
    auth.require_edit(site, retired)
    try:
        errors = _write(lambda tx: tx.put_site(retired, expected_version=version))[1]
    except Conflict:
        current = current_store().get(site_id)
        return _retire_page(current, current.version, meanwhile=changed_since(site_id, version)), 409
    if errors:
        return _retire_page(site, version, errors=errors), 400
    flash(_("Site %(id)s retired: it stays in the history and in exports that include retired sites.",
            id=site_id))
    return redirect(url_for("pages.site_page", site_id=site_id))


# --- for the site page
@bp.app_template_filter("age_days")
def age_days(value) -> int | None:
    """Days since a date (a date or ISO text); None for none."""
    if not value:
        return None
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return (date.today() - day).days


@bp.app_context_processor
def editing_helpers():
    return {"may_edit": lambda site: site is not None and accounts.can_edit(auth.user(), site),
            "stale_after_days": current_app.config["STALE_AFTER_DAYS"]}


# --- parsing the forms
def parse_site(form, old: Site | None, hidden: frozenset[str]) -> tuple[Site | None, dict]:
    """The site a form describes (None and the errors by field when a value is bad).  Fields the
    user may not see keep their old value; a blank id on a new site is proposed on saving."""
    values, errors = {}, {}
    for f in SITE_FIELDS:
        if old is not None and (f.name == "id" or f.name in hidden):
            values[f.name] = getattr(old, f.name)
        elif f.name in hidden:
            values[f.name] = () if f.type == "list" else None
        elif f.name == "id" and not form.get("id", "").strip():
            values["id"] = "new"  # replaced by a proposal in the transaction
        else:
            try:
                values[f.name] = schema.coerce(f, form.get(f.name, ""))
            except ValidationError as exc:
                errors[f.name] = reason(exc)
    geometry = parse_position(form, old, errors)
    if errors:
        return None, errors
    if old is None:
        return Site(geometry=geometry, **values), {}
    return old.replace(geometry=geometry, **values), {}


def parse_position(form, old: Site | None, errors: dict):
    """The WGS-84 geometry of lon/lat typed in the chosen coordinate system; blank keeps the old one."""
    lon_raw, lat_raw = form.get("lon", "").strip(), form.get("lat", "").strip()
    crs = form.get("crs", "WGS-84")
    if not lon_raw and not lat_raw:
        if old is None:
            errors["position"] = _("give the position: click on the map or type the longitude and latitude")
        return old.geometry if old is not None else None
    lon, lat = _degrees(lon_raw, -180, 180), _degrees(lat_raw, -90, 90)
    if lon is None or lat is None or crs not in CRS_CHOICES:
        errors["position"] = (_("choose a coordinate system") if crs not in CRS_CHOICES else
                              _("longitude -180..180 and latitude -90..90 are decimal degrees, e.g. 120.38 and 36.07"))
        return None
    if (old is not None and crs == "WGS-84" and old.geometry.geom_type == "Point"
            and (lon, lat) == (old.geometry.x, old.geometry.y)):
        return old.geometry  # not moved
    x, y = chinacrs.to_wgs84(lon, lat, crs)
    return Point(float(x), float(y))


def _degrees(text: str, low: float, high: float) -> float | None:
    try:
        value = float(text.replace("，", ",").replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) and low <= value <= high else None


def parse_survey(form, site_id: str) -> tuple[Survey | None, dict]:
    values, errors = {}, {}
    for f in SURVEY_INPUTS:
        try:
            values[f.name] = schema.coerce(f, form.get(f.name, ""))
        except ValidationError as exc:
            errors[f.name] = reason(exc)
    if errors:
        return None, errors
    return Survey(site_id=site_id, survey_date=values.pop("survey_date"), **values), {}


def unit_rows(form) -> list[dict]:
    """The unit rows of a form (inputs named field-N), in order, without removed and empty rows."""
    numbers = sorted({int(m[2]) for key in form for m in [re.fullmatch(r"(\w+)-(\d+)", key)] if m})
    rows = []
    for n in numbers:
        row = {f.name: form.get(f"{f.name}-{n}", "") for f in UNIT_INPUTS}
        if form.get(f"remove-{n}") or not any(v.strip() for v in row.values()):
            continue
        rows.append(row)
    return rows


def parse_units(rows: list[dict], site: Site, old: list[Unit], hidden: frozenset[str]) -> tuple[list[Unit], dict]:
    """Every row checked: errors keyed "N-field" (N from 0).  A hidden tenant keeps the old one."""
    old_tenants = {(u.floor, u.unit_label): u.tenant for u in old}
    units, errors, seen = [], {}, set()
    for n, row in enumerate(rows):
        values = {}
        for f in UNIT_INPUTS:
            if f.name == "tenant" and "tenant" in hidden:
                continue
            try:
                values[f.name] = schema.coerce(f, row.get(f.name, ""))
            except ValidationError as exc:
                errors[f"{n}-{f.name}"] = reason(exc)
        if any(key.startswith(f"{n}-") for key in errors):
            continue
        if "tenant" in hidden:
            values["tenant"] = old_tenants.get((values["floor"], values["unit_label"]))
        unit = Unit(site_id=site.id, **values)
        if (unit.floor, unit.unit_label) in seen:
            errors[f"{n}-unit_label"] = _("this floor and unit appear twice (a unit's area may be counted only once)")
            continue
        seen.add((unit.floor, unit.unit_label))
        try:
            validate_units(site, [unit])
        except ValidationError as exc:
            errors[f"{n}-{exc.field}"] = reason(exc)
            continue
        units.append(unit)
    return units, errors


def _version(form) -> int:
    try:
        return int(form.get("version", ""))
    except ValueError:
        raise BadRequest(_("the form has no valid version: reload the page")) from None


# --- writing
def _write(fn):
    """fn(tx) in one transaction by this user through the form: (its result, {}) or (None, errors)."""
    try:
        with current_store().transaction(auth.actor("form")) as tx:
            return fn(tx), {}
    except ValidationError as exc:
        return None, {_error_key(exc.field): reason(exc)}


def _insert(tx, site: Site, proposed: bool) -> Site:
    if proposed:
        site = site.replace(id=propose_id(tx, site))
    elif tx.get(site.id) is not None:
        raise ValidationError(_("the id %(id)s is already taken", id=site.id), field="id")
    try:
        return tx.put_site(site, expected_version=0)
    except Conflict:  # taken between the check and the write
        raise ValidationError(_("the id %(id)s is already taken", id=site.id), field="id") from None


def propose_id(tx, site: Site) -> str:
    """A free id from the city and the name: qd-old-warehouse, or qd-<hash> for a Chinese-only name."""
    prefix = CITY_PREFIX.get(site.city, "site")
    stem = "-".join(re.findall(r"[a-z0-9]+", (site.name_en or "").lower()))[:40].strip("-")
    stem = stem or hashlib.sha1(site.name_zh.encode("utf-8")).hexdigest()[:6]
    candidate, n = f"{prefix}-{stem}", 2
    while tx.get(candidate) is not None:
        candidate, n = f"{prefix}-{stem}-{n}", n + 1
    return candidate


def changed_since(site_id: str, version: int) -> list:
    """The site's changes after this version, newest first."""
    changes, _total = current_store().changes(ChangeFilter(site_id=site_id, limit=None))
    return [c for c in changes if c.version is not None and c.version > version]


# --- errors, in the reader's language
def _error_key(field: str | None) -> str:
    return "position" if field in _POSITION_FIELDS else (field or "form")


_REASONS = (  # the domain's English reasons -> translatable messages
    (re.compile(r"^is required$"), lambda m: _("is required")),
    (re.compile(r"^(.+) is not a valid (integer|number)\b"),
     lambda m: _("%(value)s is not a number", value=_value(m[1]))),
    (re.compile(r"^(.+) is not a valid date\b"),
     lambda m: _("%(value)s is not a date (YYYY-MM-DD)", value=_value(m[1]))),
    (re.compile(r"^(.+) is not a valid list\b"), lambda m: _("%(value)s cannot be read as a list", value=_value(m[1]))),
    (re.compile(r"^(.+) is not yes/no"), lambda m: _("%(value)s is not yes or no", value=_value(m[1]))),
    (re.compile(r"^(.+) is not one of "), lambda m: _("%(value)s is not one of the choices", value=_value(m[1]))),
    (re.compile(r"^(.+) is not a valid id "),
     lambda m: _("%(value)s is not a valid id: use lowercase letters, digits and single dashes, e.g. qd-yunxin",
                 value=_value(m[1]))),
    (re.compile(r"^(\S+) is in the future$"), lambda m: _("%(date)s is in the future", date=m[1])),
    (re.compile(r"^must be ≥ 0"), lambda m: _("must be 0 or more")),
    (re.compile(r"^must be between (\d+) and (\d+)"), lambda m: _("must be between %(a)s and %(b)s", a=m[1], b=m[2])),
    (re.compile(r"^(\d+) is not a plausible year$"), lambda m: _("%(year)s is not a plausible year", year=m[1])),
    (re.compile(r"^leasable area (\S+) m² exceeds gross floor area (\S+) m²$"),
     lambda m: _("the leasable area %(a)s m² exceeds the gross floor area %(b)s m²", a=m[1], b=m[2])),
    (re.compile(r"^(.+) is not a 6-digit adcode$"), lambda m: _("%(value)s is not a 6-digit code", value=_value(m[1]))),
    (re.compile(r"^(\d+) is not in (\S+) \(adcodes there start (\d+)\)$"),
     lambda m: _("%(code)s is not in %(city)s (codes there start %(start)s)", code=m[1], city=m[2], start=m[3])),
    (re.compile(r"^is before first_added$"), lambda m: _("is before the first-added date")),
    (re.compile(r"^lies outside (\S+) "),
     lambda m: _("the position lies outside %(city)s: check the coordinates and their coordinate system", city=m[1])),
    (re.compile(r"^occupied area (\S+) m² exceeds leasable area (\S+) m²$"),
     lambda m: _("the occupied area %(a)s m² exceeds the leasable area %(b)s m²", a=m[1], b=m[2])),
    (re.compile(r"^surveyed leasable area (\S+) m² exceeds the site's gross floor area (\S+) m²$"),
     lambda m: _("the leasable area %(a)s m² exceeds the site's gross floor area %(b)s m²", a=m[1], b=m[2])),
    (re.compile(r"^is required when the occupied area is given$"),
     lambda m: _("is required when the occupied area is given")),
    (re.compile(r"^a survey needs the areas or at least a tenant count$"),
     lambda m: _("a survey needs the areas or at least a tenant count")),
    (re.compile(r"^units add up to (\S+) m², more than the site's (\w+) (\S+) m²$"),
     lambda m: _("the units add up to %(a)s m², more than the site's %(which)s of %(b)s m²", a=m[1], b=m[3],
                 which=_label(m[2]))),
)


def reason(exc: ValidationError) -> str:
    """The reason of a validation error in the reader's language (the English one if unknown)."""
    text = re.sub(r"^unit [^:]*: ", "", exc.reason)  # the form names the row itself
    for pattern, message in _REASONS:
        match = pattern.search(text)
        if match:
            return message(match)
    return text


def _value(text: str) -> str:
    """A value as the domain quoted it (Python's repr), without the quotes."""
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"" else text


def _label(name: str) -> str:
    f = schema.BY_NAME.get(name)
    return schema.label(f, language()) if f else name


# --- rendering
def _new_values() -> dict:
    """A new site's form: today's dates, and the user's first city/district."""
    today = date.today().isoformat()
    values = {"first_added": today, "last_updated": today, "crs": "WGS-84", "kind": "building",
              "status": "idle", "location_precision": "building", "data_status": "reported"}
    scope = (auth.user().scope or ("",))[0]
    city, _sep, district = scope.partition("/")
    values.update(city=city, district=district)
    return values


def _site_values(site: Site) -> dict:
    values = {f.name: _text(getattr(site, f.name)) for f in SITE_FIELDS}
    values["last_updated"] = date.today().isoformat()  # this edit updates the record
    values["crs"] = "WGS-84"
    if site.geometry.geom_type == "Point":
        values["lon"], values["lat"] = repr(site.geometry.x), repr(site.geometry.y)
    return values


def _survey_values(site: Site) -> dict:
    latest = max(current_store().surveys(site.id), key=lambda s: s.survey_date, default=None)
    leasable = latest.leasable_area_m2 if latest else site.leasable_area_m2
    return {"survey_date": date.today().isoformat(), "leasable_area_m2": _text(leasable),
            "data_status": latest.data_status if latest else "reported"}


def _unit_values(u: Unit) -> dict:
    return {f.name: _text(getattr(u, f.name)) for f in UNIT_INPUTS}


def _text(value) -> str:
    """A stored value as the form shows it (the inverse of schema.coerce)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "; ".join(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _picker_config(site: Site | None) -> dict:
    lang = language()
    layers = [{"name": b.name(lang), "url": b.url, "attribution": b.attribution, "subdomains": b.subdomains,
               "maxZoom": b.max_zoom, "gcj02": b.crs == "gcj02"} for b in basemaps(current_app.config)]
    from sites.cities import CITIES, DEFAULT_CITY
    city = CITIES.get(site.city if site else (auth.user().scope or (DEFAULT_CITY,))[0].split("/")[0])
    center = site.representative_point().coords[0] if site else (city or CITIES[DEFAULT_CITY]).center
    return {"basemaps": layers, "center": list(center), "zoom": 16 if site else 12,
            "outline": site.geometry.__geo_interface__ if site is not None and site.geometry.geom_type != "Point"
            else None}


def _site_form(site: Site | None, values, errors: dict, version: int | None = None, meanwhile=None):
    hidden = auth.hidden()
    fields = [f for f in SITE_FIELDS if f.name not in hidden]
    return render_template(
        "editing/site_form.html", site=site, values=values, errors=errors, fields=fields, version=version,
        crs_choices=CRS_CHOICES, picker=_picker_config(site), meanwhile=_change_rows(meanwhile or []),
        polygon=site is not None and site.geometry.geom_type != "Point", **_helpers())


def _survey_form(site: Site, values, errors: dict, replace: str | None = None):
    return render_template("editing/survey_form.html", site=site, values=values, errors=errors, replace=replace,
                           fields=SURVEY_INPUTS, has_units=bool(current_store().units(site.id)), **_helpers())


def _number_text(value) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _units_form(site: Site, rows: list[dict], errors: dict, blank: int = BLANK_UNIT_ROWS, stamp: str = "",
                meanwhile=()):
    fields = [f for f in UNIT_INPUTS if f.name not in auth.hidden()]
    rows = rows + [{} for _i in range(blank)]
    return render_template("editing/units_form.html", site=site, rows=rows, errors=errors, fields=fields,
                           units_stamp=stamp, meanwhile=meanwhile, **_helpers())


def units_stamp(units) -> str:
    """A fingerprint of a site's units: the units form's version (units have no version of their own)."""
    text = json.dumps(units_record(units), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _retire_page(site: Site, version: int, meanwhile=None, errors=None):
    return render_template("editing/retire.html", site=site, version=version, errors=errors or {},
                           meanwhile=_change_rows(meanwhile or []), **_helpers())


def _helpers() -> dict:
    lang = language()
    names = {f.name: schema.label(f, lang) for f in (*schema.UNIT_FIELDS, *schema.SURVEY_FIELDS, *SITE_FIELDS)}
    names.update(position=_("Position"), form=_("Form"))
    return {"label": lambda f: schema.label(f, lang), "enum_text": lambda labels: labels[0 if lang == "zh" else 1],
            "site_name": lambda s: s.name_zh if lang == "zh" or not s.name_en else s.name_en, "names": names}


def _change_rows(changes) -> list[dict]:
    """What changed meanwhile, for display: one row a field, without fields the user may not see."""
    hidden, lang = auth.hidden(), language()
    rows = []
    for c in changes:
        for name, before, after in c.fields():
            if name in hidden:
                continue
            rows.append({"at": c.at.strftime("%Y-%m-%d %H:%M UTC"), "user": c.user,
                         "channel": audit.CHANNELS.get(c.channel, (c.channel, c.channel))[0 if lang == "zh" else 1],
                         "version": c.version, "field": _label(name), "before": _shown(before),
                         "after": _shown(after)})
    return rows


def _shown(value) -> str:
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)
