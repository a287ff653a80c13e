"""Upload: the command-line import in the browser (editors and admins).

1. ``GET /upload``: the form, and the import templates to download.
2. ``POST /upload``: the file is saved under ``instance/uploads/<random token>/`` (never under
   the client's name or path) and read with ``sites.importing.read``: a dry run that shows what
   would be imported and every bad row, writing nothing.  Sites outside the editor's cities or
   districts are bad rows too.  A file with bad rows is deleted at once.
3. ``POST /upload/<token>/commit``: the same file is read and checked again (the inventory may
   have changed meanwhile) and applied in one transaction, all or nothing, through the audit
   channel ``upload``; then the file is deleted.  Only the user who uploaded it may commit it.

Uploads that were never committed are deleted after a day.
"""

from __future__ import annotations

import dataclasses

import json
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, after_this_request, current_app, render_template, request, send_file
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound as HTTPNotFound, RequestEntityTooLarge
from werkzeug.utils import secure_filename

from sites import accounts, chinacrs, importing, schema
from sites.audit import site_delta
from sites.errors import ImportRowsError, NotFound, ValidationError
from sites.tables import READERS

from . import auth, current_store
from .i18n import language

bp = Blueprint("upload", __name__)
KEEP_SECONDS = 24 * 3600
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CRS_CHOICES = ("", "WGS-84", "GCJ-02", "BD-09", "EPSG")
TEMPLATE_FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass
class Preview:
    """What a plan would do to the inventory."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    surveys: int = 0
    units: int = 0


# --- the pages
@bp.get("/upload")
@auth.require("editor")
def form():
    sweep()
    return render_template("upload.html", choices=CRS_CHOICES, values={})


@bp.get("/upload/template/<lang>.<fmt>")
@auth.require("editor")
def template(lang, fmt):
    if lang not in ("zh", "en") or fmt not in TEMPLATE_FORMATS:
        raise HTTPNotFound(_("no such template: choose zh or en, csv or xlsx"))
    folder = Path(tempfile.mkdtemp(prefix="sites-template-"))
    path = folder / f"template.{fmt}"
    importing.write_template(path, lang)

    @after_this_request
    def cleanup(resp):
        resp.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
        return resp

    name = ("导入模板" if lang == "zh" else "import-template") + f".{fmt}"
    return send_file(path, mimetype=TEMPLATE_FORMATS[fmt], as_attachment=True, download_name=name)


@bp.post("/upload")
@auth.require("editor")
def dry_run():
    sweep()
    values = {k: request.form.get(k, "").strip() for k in ("crs", "epsg", "sheet")}
    try:
        crs = _crs(values["crs"], values["epsg"])
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError(_("choose a file to upload"), field="file")
        token, meta = _save(upload, crs, values["sheet"] or None)
    except ValidationError as exc:
        return render_template("upload.html", choices=CRS_CHOICES, values=values, error=exc), 400
    return _check(token, meta)


@bp.post("/upload/<token>/commit")
@auth.require("editor")
def commit(token):
    sweep()
    folder, meta = _saved(token)
    try:
        plan, errors, _ = check(current_store(), _read(folder, meta))
        if errors:
            raise ImportRowsError(errors, plan.total_rows)
        result = importing.apply(current_store(), plan, actor=auth.actor("upload"))
    except ImportRowsError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return render_template("upload_result.html", meta=meta, errors=_rows(exc.errors), total=exc.total_rows,
                               committed=False, refused=True), 400
    except ValidationError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return render_template("upload.html", choices=CRS_CHOICES, values={}, error=exc), 400
    shutil.rmtree(folder, ignore_errors=True)
    return render_template("upload_done.html", meta=meta, result=result, batch=result.batch)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    message = _("The file is larger than the upload limit of %(mb)s MB (setting UPLOAD_MAX_MB): split it or "
                "ask an administrator to raise the limit.", mb=current_app.config["UPLOAD_MAX_MB"])
    error = ValidationError(message, field="file")
    return render_template("upload.html", choices=CRS_CHOICES, values={}, error=error), 413


# --- the dry run
def _check(token: str, meta: dict):
    folder = _root() / token
    try:
        plan = _read(folder, meta)
    except ValidationError as exc:  # the file as a whole: unreadable, a required column missing
        shutil.rmtree(folder, ignore_errors=True)
        values = {"crs": meta.get("crs_choice", ""), "sheet": meta.get("sheet") or ""}
        return render_template("upload.html", choices=CRS_CHOICES, values=values, error=exc), 400
    plan, errors, stored = check(current_store(), plan)
    if errors:
        shutil.rmtree(folder, ignore_errors=True)
    return render_template("upload_result.html", meta=meta, preview=preview(stored, plan), plan=plan,
                           errors=_rows(errors), total=plan.total_rows, token=None if errors else token,
                           committed=False, refused=False), 200 if not errors else 422


def check(store, plan):
    """What the dry run and the commit both check: (the plan with the confidential values this user
    cannot see kept as stored, every bad row sorted, the stored sites the plan names by id)."""
    ids = {s.id for s in plan.sites} | {s.site_id for s in plan.surveys} | set(plan.units)
    stored = {i: _stored(store, i) for i in ids}  # each site read once
    hidden = auth.hidden()
    errors = sorted(plan.errors + out_of_scope(stored, plan, auth.user()) + confidential(plan, hidden),
                    key=lambda e: (e.row or 0, e.field or ""))
    return keep_hidden(store, stored, plan, hidden), errors, stored


def preview(stored: dict, plan) -> Preview:
    """How many sites the plan would create, change or leave alone; its surveys and units."""
    out = Preview(surveys=len(plan.surveys), units=sum(len(g) for g in plan.units.values()))
    for site in plan.sites:
        old = stored[site.id]
        if old is None:
            out.new += 1
        elif any(site_delta(old, site)):
            out.changed += 1
        else:
            out.unchanged += 1
    return out


def out_of_scope(stored: dict, plan, who) -> list[ValidationError]:
    """A bad row for every site, survey or units of the plan that this user may not edit."""
    if accounts.has_role(who, "admin"):
        return []
    errors = []
    planned = {s.id for s in plan.sites}
    for site in plan.sites:
        old = stored[site.id]
        if not accounts.can_edit(who, old, site):
            place = old if old is not None and not accounts.in_scope(who, old) else site
            errors.append(_scope_error(place, plan.site_rows.get(site.id)))
    rows = plan.survey_rows if len(plan.survey_rows) == len(plan.surveys) else [None] * len(plan.surveys)
    others = [(s.site_id, row) for s, row in zip(plan.surveys, rows)]
    others += [(site_id, plan.unit_rows.get(site_id)) for site_id in plan.units]
    for site_id, row in others:
        old = None if site_id in planned else stored[site_id]
        if old is not None and not accounts.can_edit(who, old):
            errors.append(_scope_error(old, row))
    return errors


def confidential(plan, hidden: frozenset[str]) -> list[ValidationError]:
    """A bad row for every value of a confidential field this user may not see, hence not write."""
    errors = []
    for site in plan.sites:
        for name in sorted(hidden):
            if getattr(site, name, None) not in (None, "", ()):
                errors.append(ValidationError(_("is confidential: you may not write it"), field=name,
                                              site_id=site.id, row=plan.site_rows.get(site.id)))
    if "tenant" in hidden:
        for site_id, group in plan.units.items():
            if any(u.tenant for u in group):
                errors.append(ValidationError(_("is confidential: you may not write it"), field="tenant",
                                              site_id=site_id, row=plan.unit_rows.get(site_id)))
    return errors


def keep_hidden(store, stored: dict, plan, hidden: frozenset[str]):
    """The plan with the stored values of the confidential fields this user cannot see, so that
    an import of what they can see does not blank them (units keep their tenants by floor and label)."""
    if not hidden:
        return plan
    sites = []
    for site in plan.sites:
        old = stored[site.id]
        names = [n for n in hidden if hasattr(site, n)]
        sites.append(site.replace(**{n: getattr(old, n) for n in names}) if old is not None else site)
    units = plan.units
    if "tenant" in hidden:
        units = {}
        for site_id, group in plan.units.items():
            tenants = {(u.floor, u.unit_label): u.tenant for u in store.units(site_id)}
            units[site_id] = [dataclasses.replace(u, tenant=tenants.get((u.floor, u.unit_label))) for u in group]
    return dataclasses.replace(plan, sites=sites, units=units)


def _scope_error(site, row) -> ValidationError:
    place = f"{site.city}{site.district or ''}"
    return ValidationError(_("you may not edit sites in %(place)s", place=place), field="city", site_id=site.id,
                           row=row)


def _stored(store, site_id: str):
    try:
        return store.get(site_id)
    except NotFound:
        return None


def _rows(errors: list[ValidationError]) -> list[dict]:
    """Bad rows for the table: row, field (and its label in the page's language), site, reason."""
    lang = language()
    out = []
    for e in errors:
        f = schema.BY_NAME.get(e.field or "")
        out.append({"row": e.row, "field": e.field, "label": schema.label(f, lang) if f else (e.field or ""),
                    "site_id": e.site_id, "reason": e.reason})
    return out


# --- saved files
def _root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _crs(choice: str, epsg: str) -> str | None:
    if choice not in CRS_CHOICES:
        raise ValidationError(_("choose a coordinate system from the list"), field="crs")
    if choice == "EPSG":
        code = epsg.upper().removeprefix("EPSG:").strip()
        if not code.isdigit():
            raise ValidationError(_("give an EPSG code such as 4326 or 4490"), field="crs")
        return chinacrs.normalize_crs(f"EPSG:{code}")
    return choice or None


def _save(upload, crs: str | None, sheet: str | None) -> tuple[str, dict]:
    """Save the upload under a new random token; the client's path is never used."""
    original = Path(upload.filename.replace("\\", "/")).name
    suffix = Path(original).suffix.lower()
    if suffix not in READERS:
        raise ValidationError(_("cannot import %(name)s: use CSV, XLSX, GeoJSON or GeoPackage", name=original),
                              field="file")
    stem = secure_filename(Path(original).stem) or "upload"
    token = secrets.token_urlsafe(18)
    folder = _root() / token
    folder.mkdir(parents=True)
    name = f"{stem}{suffix}"
    upload.save(folder / name)
    meta = {"user": auth.user().username, "original": original, "file": name, "crs": crs, "sheet": sheet,
            "crs_choice": request.form.get("crs", "")}
    (folder / "upload.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return token, meta


def _saved(token: str) -> tuple[Path, dict]:
    """The saved upload of this token, if it is this user's and not expired; else a 404."""
    gone = HTTPNotFound(_("this upload is unknown or has expired (uploads are kept for a day): upload the file again"))
    if not TOKEN.match(token):
        raise gone
    folder = _root() / token
    try:
        meta = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise gone from None
    if meta.get("user") != auth.user().username or not (folder / meta["file"]).is_file():
        raise gone
    return folder, meta


def _read(folder: Path, meta: dict):
    return importing.read(folder / meta["file"], crs=meta.get("crs"), sheet=meta.get("sheet"))


def sweep(now: float | None = None) -> None:
    """Delete saved uploads older than a day."""
    root = _root()
    if not root.is_dir():
        return
    limit = (now or time.time()) - KEEP_SECONDS
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < limit:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass
