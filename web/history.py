"""The audit trail in the browser (signed-in users): a site's history, the recent changes of
all sites with filters and paging, and the same log as CSV.

Times are stored in UTC and shown in China Standard Time (Asia/Shanghai), UTC in a tooltip;
the date filters ``since``/``until`` are local dates, both inclusive.  Confidential values
the user may not see (``auth.hidden()``) are replaced by "hidden" in every before/after.
Account changes are listed for administrators only.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from sites import schema
from sites.audit import ACTIONS, CHANNELS, Change, ChangeFilter
from sites.errors import FilterError

from . import auth, current_store
from .i18n import language

bp = Blueprint("history", __name__)
LOCAL = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50
FILTERS = ("user", "channel", "action", "site_id", "city", "since", "until", "batch")
_SURVEY = {f.name: f for f in schema.SURVEY_FIELDS}
_UNIT = {f.name: f for f in schema.UNIT_FIELDS}
_ACCOUNT = {"username": ("用户名", "User name"), "role": ("角色", "Role"),
            "display_name": ("显示名称", "Display name"),
            "scope": ("编辑范围", "Scope"), "active": ("启用", "Active"), "password": ("密码", "Password"),
            "token": ("API 令牌", "API token")}


# --- the pages
@bp.get("/sites/<site_id>/history")
@auth.require("viewer")
def site_history(site_id):
    store = current_store()
    site = store.get(site_id)  # an unknown site is a 404
    changes, _total = store.changes(ChangeFilter(site_id=site_id, limit=None))
    return render_template("history.html", site=site, entries=[entry(c) for c in changes])


@bp.get("/changes")
@auth.require("viewer")
def changes():
    args = _args()
    page = _page(request.args.get("page"))
    rows, total = select(args, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template("changes.html", entries=[entry(c) for c in rows], total=total, page=page, pages=pages,
                           args=args, channels=CHANNELS, actions=_actions(), lang=language())


@bp.get("/changes.csv")
@auth.require("viewer")
def changes_csv():
    rows, _total = select(_args(), limit=None, offset=0)
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 only with a BOM
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "at_utc", "user", "channel", "action", "site_id", "subject", "field", "before", "after"])
    hidden = auth.hidden()
    for c in rows:
        head = [c.id, _utc(c.at).strftime("%Y-%m-%dT%H:%M:%SZ"), c.user, c.channel, c.action, c.site_id or "",
                c.subject or ""]
        for name, before, after in _deltas(c, hidden):
            writer.writerow(head + [name, _csv_value(before), _csv_value(after)])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=changes.csv"})


# --- choosing the changes
def _args() -> dict:
    return {k: request.args.get(k, "").strip() for k in FILTERS if request.args.get(k, "").strip()}


def _page(text: str | None) -> int:
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise FilterError(f"{text!r} is not a page number (1, 2, …)", parameter="page")
    return int(text)


def _actions() -> dict:
    return ACTIONS if auth.may("admin") else {k: v for k, v in ACTIONS.items() if k != "user"}


def select(args: dict, limit: int | None, offset: int) -> tuple[list[Change], int]:
    """The changes matching the filters, newest first, paged; and how many match in all.
    Account changes are left out for non-admins."""
    for name, choices in (("channel", CHANNELS), ("action", _actions())):
        if name in args and args[name] not in choices:
            raise FilterError(f"{args[name]!r} is not one of {', '.join(choices)}", parameter=name)
    since = _local_day(args.get("since"), "since")
    until = _local_day(args.get("until"), "until")
    f = ChangeFilter(site_id=args.get("site_id"), user=args.get("user"), channel=args.get("channel"),
                     action=args.get("action"), since=since, until=until + timedelta(days=1) if until else None,
                     batch=args.get("batch"), city=args.get("city") or None,
                     sites_only=not auth.may("admin"), limit=limit, offset=offset)
    return current_store().changes(f)


def _local_day(text: str | None, parameter: str) -> datetime | None:
    """Midnight in Asia/Shanghai of a YYYY-MM-DD date, in UTC."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
        return datetime.combine(day, time(), LOCAL).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise FilterError(f"{text!r} is not a date (YYYY-MM-DD)", parameter=parameter) from None


# --- showing a change
def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def entry(c: Change) -> dict:
    """A change ready for a template: local and UTC times, labels, and before/after rows of text."""
    lang, hidden = language(), auth.hidden()
    at = _utc(c.at)
    i = 0 if lang == "zh" else 1
    rows = [(_label(c.action, name, lang), _text(c.action, name, before, lang), _text(c.action, name, after, lang))
            for name, before, after in _deltas(c, hidden)]
    return {"id": c.id, "local": at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M"),
            "utc": at.strftime("%Y-%m-%d %H:%M:%S UTC"), "user": c.user, "channel": c.channel,
            "channel_label": CHANNELS.get(c.channel, (c.channel, c.channel))[i], "action": c.action,
            "action_label": ACTIONS.get(c.action, (c.action, c.action))[i], "site_id": c.site_id,
            "subject": c.subject, "batch": c.batch, "version": c.version, "rows": rows}


HIDDEN = object()  # stands in for a value the user may not see


def _deltas(c: Change, hidden: frozenset[str]) -> list[tuple[str, object, object]]:
    """(field, before, after) for each changed value; units one row a changed unit; hidden values masked."""
    if c.action == "units":
        return _unit_deltas(c.before or [], c.after or [], hidden)
    out = []
    for name, before, after in c.fields():
        if before in (None, "", []) and after in (None, "", []):
            continue  # e.g. an empty list of a new site: nothing to show
        if name in hidden and c.action != "user":
            before, after = (HIDDEN if before is not None else None), (HIDDEN if after is not None else None)
        out.append((name, before, after))
    return out


def _unit_deltas(before: list, after: list, hidden: frozenset[str]):
    def key(u):
        return f"{u.get('floor')}/{u.get('unit_label')}"

    def mask(u):
        if u is None:
            return None
        return {k: (HIDDEN if k in hidden and v is not None else v) for k, v in u.items()}

    old, new = {key(u): u for u in before}, {key(u): u for u in after}
    keys = list(dict.fromkeys([*old, *new]))
    return [(f"units[{k}]", mask(old.get(k)), mask(new.get(k))) for k in keys if old.get(k) != new.get(k)]


def _label(action: str, name: str, lang: str) -> str:
    if name.startswith("units["):
        return ("单元 " if lang == "zh" else "Unit ") + name[len("units["):-1]
    if action == "user":
        pair = _ACCOUNT.get(name)
        return pair[0 if lang == "zh" else 1] if pair else name
    if name == "geometry":
        return "位置(WKT)" if lang == "zh" else "Position (WKT)"
    f = (_SURVEY.get(name) if action == "survey" else None) or schema.BY_NAME.get(name)
    return schema.label(f, lang) if f else name


def _text(action: str, name: str, value, lang: str) -> str:
    """A value as readable text: labels for enumerations, lists joined, yes/no, units summarised."""
    if value is HIDDEN:
        return _("hidden")
    if value is None or value == "" or value == []:
        return "—"
    if name.startswith("units[") and isinstance(value, dict):
        status = schema.enum_label(_UNIT["status"], value.get("status"), lang)
        parts = [f"{_text('', 'area_m2', value.get('area_m2'), lang)} m²", status, _text("", "tenant", value.get("tenant"), lang),
                 _text("", "updated_on", value.get("updated_on"), lang)]
        return " · ".join(str(p) for p in parts)
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, list):
        return "、".join(str(v) for v in value) if lang == "zh" else ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(round(value, 6))
    f = (_SURVEY.get(name) if action == "survey" else None) or schema.BY_NAME.get(name)
    if f is not None and f.enum and isinstance(value, str):
        return schema.enum_label(f, value, lang)
    return str(value)


def _csv_value(value) -> str:
    if value is HIDDEN:
        return _("hidden")
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=lambda v: _("hidden") if v is HIDDEN else str(v))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
