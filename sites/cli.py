"""``python -m sites``: the inventory from the command line.

Exit codes: 0 on success, 2 on bad input (one line on stderr naming the
parameter, field or row), 1 on an unexpected failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

from . import accounts, config, exporting, importing, inventory, schema
from .audit import ACTIONS, CHANNELS, Actor, ChangeFilter
from .errors import ImportRowsError, NotFound, SitesError, ValidationError
from .query import PARAMS, build_query
from .stores import open_store

EPILOG = "Store: SITES_STORE_URL (default instance/sites.gpkg).  Filters are the same as the API's and the map's."


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except ImportRowsError as exc:
        for err in exc.errors[:50]:
            print(f"  {err}", file=sys.stderr)
        if len(exc.errors) > 50:
            print(f"  ... and {len(exc.errors) - 50} more", file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SitesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sites", description="城市更新园区载体图谱: the site inventory.",
                                epilog=EPILOG)
    p.add_argument("--store", help="store URL (overrides SITES_STORE_URL)")
    p.add_argument("--user", help="who the audit trail records for writes (default: your system account)")
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    c = sub.add_parser("init", help="build the store from geodata/")
    c.add_argument("--force", action="store_true", help="rebuild even if the store exists (discards every edit, "
                                                        "account and the audit trail)")
    c.add_argument("--if-missing", action="store_true", help="do nothing if the store exists")
    c.add_argument("--geodata", type=Path, help="seed data folder (default geodata/)")
    c.set_defaults(run=cmd_init)

    for name in ("list", "query"):
        c = sub.add_parser(name, help="list sites matching the filters")
        _filters(c)
        c.add_argument("--json", action="store_true", help="print a JSON list of every property")
        c.set_defaults(run=cmd_list)

    c = sub.add_parser("show", help="one site with its surveys and units")
    c.add_argument("id")
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=cmd_show)

    c = sub.add_parser("stats", help="sites, idle area and vacancy rate by city and district")
    _filters(c)
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=cmd_stats)

    c = sub.add_parser("import", help="import sites, surveys or units (CSV, XLSX, GeoJSON, GeoPackage)")
    c.add_argument("file", type=Path)
    c.add_argument("--crs", help="coordinate system of the file: EPSG:NNNN, GCJ-02 or BD-09 (default WGS-84, "
                                 "or a crs/坐标系 column)")
    c.add_argument("--mapping", help="column mapping: a JSON file, or SOURCE=FIELD pairs separated by commas")
    c.add_argument("--sheet", help="XLSX sheet name (default the first)")
    c.add_argument("--dry-run", action="store_true", help="check every row and report, write nothing")
    c.set_defaults(run=cmd_import)

    c = sub.add_parser("export", help="export the sites matching the filters (CSV, XLSX, GeoJSON, GeoPackage)")
    c.add_argument("file", type=Path)
    c.add_argument("--format", choices=("csv", "xlsx", "geojson", "gpkg"), help="default: from the file name")
    c.add_argument("--lang", choices=("zh", "en"), default="en", help="column headers (default en)")
    _filters(c)
    c.set_defaults(run=cmd_export)

    c = sub.add_parser("template", help="print or write an import template")
    c.add_argument("--lang", choices=("zh", "en"), default="zh")
    c.add_argument("--output", type=Path, help="write a .csv or .xlsx template instead of printing headers")
    c.set_defaults(run=cmd_template)

    _users_parser(sub)
    c = sub.add_parser("changes", help="the audit trail: who changed what, when, through which channel")
    c.add_argument("--site", help="one site's changes (its id)")
    c.add_argument("--by", metavar="USER", help="changes made by this user")
    c.add_argument("--channel", help=f"one of {', '.join(CHANNELS)}")
    c.add_argument("--action", help=f"one of {', '.join(ACTIONS)}")
    c.add_argument("--since", metavar="DATE", help="changes on or after this date (YYYY-MM-DD, UTC) or time")
    c.add_argument("--limit", metavar="N", default="50", help="at most N changes, newest first (default 50)")
    c.add_argument("--json", action="store_true", help="print every change with its before and after values")
    c.set_defaults(run=cmd_changes)
    return p


def _users_parser(sub) -> None:
    users = sub.add_parser("users", help="user accounts: list, add, set, password, token, revoke-token, unlock")
    cmds = users.add_subparsers(required=True, metavar="ACTION")
    cmds.add_parser("list", help="every account with its role, scope and state").set_defaults(run=cmd_users_list)

    def account(name, help, run, password=False, fields=False):
        c = cmds.add_parser(name, help=help)
        c.add_argument("name", metavar="NAME")
        if fields:
            c.add_argument("--role", required=name == "add", help=f"one of {', '.join(accounts.ROLES)}")
            c.add_argument("--scope", help="an editor's cities and districts, comma-separated, e.g. "
                                           "青岛市/市南区,西安市 (empty to clear)")
            c.add_argument("--display-name", help="the name shown in the pages and the audit trail")
        if password:
            c.add_argument("--password-stdin", action="store_true",
                           help="read the password from the first line of stdin (for scripts) instead of asking")
        c.set_defaults(run=run)
        return c

    account("add", "create an account (asks for its password)", cmd_users_add, password=True, fields=True)
    c = account("set", "change an account's role, scope, display name or state", cmd_users_set, fields=True)
    c.add_argument("--active", dest="active", action="store_const", const=True, help="allow signing in again")
    c.add_argument("--inactive", dest="active", action="store_const", const=False,
                   help="no more signing in or API token use (the account and its history stay)")
    account("password", "set a new password (ends the account's browser sessions)", cmd_users_password,
            password=True)
    account("token", "issue a new API token, printed once (the old one stops working)", cmd_users_token)
    account("revoke-token", "remove the account's API token", cmd_users_revoke_token)
    account("unlock", "unlock an account locked by failed logins", cmd_users_unlock)


def _filters(c: argparse.ArgumentParser) -> None:
    g = c.add_argument_group("filters")
    for param in PARAMS:
        flag = "--" + param.name.replace("_", "-")
        names = [flag, "--cql"] if param.name == "filter" else [flag]
        if param.kind == "bool":
            g.add_argument(*names, dest=param.name, action="store_true", help=param.help_en)
        else:
            g.add_argument(*names, dest=param.name, metavar=param.metavar, help=f"{param.help_en} ({param.help_zh})")


def _store(args, create=False):
    return open_store(args.store or config.store_url(), create=create)


def _actor(args) -> Actor:
    return Actor.command_line(args.user)


def _query(args, store, default_limit=None):
    params = {p.name: getattr(args, p.name, None) for p in PARAMS}
    if params.get("limit") is None and default_limit:
        params["limit"] = default_limit
    return build_query(params, district_geometry=store.district_geometry, max_limit=None)


def cmd_init(args):
    url = args.store or config.store_url()
    geodata = args.geodata or Path(config.load()["GEODATA_DIR"])
    if args.if_missing and (url.startswith("memory://") or Path(url.removeprefix("gpkg:")).exists()):
        print(f"store exists: {url}")
        return
    store, result = inventory.init_store(url, geodata, force=args.force, actor=_actor(args))
    print(f"built {url}: {result.created} sites, {result.surveys} surveys, "
          f"{sum(1 for _ in store.districts())} districts from {geodata}")


def cmd_list(args):
    with _store(args) as store:
        page = store.query(_query(args, store))
        if args.json:
            _print_json([schema.site_properties(s) for s in page.sites])
            return
        print(_table(page.sites))
        shown = len(page.sites)
        print(f"{shown} of {page.number_matched} sites" if shown != page.number_matched else f"{shown} sites")


def cmd_show(args):
    with _store(args) as store:
        site = store.get(args.id)
        surveys, units = store.surveys(site.id), store.units(site.id)
        if args.json:
            out = schema.site_properties(site)
            out["geometry"] = site.geometry.__geo_interface__
            out["surveys"] = [{k: schema.to_json_value(v) for k, v in vars(s).items()} for s in surveys]
            out["units"] = [{k: schema.to_json_value(v) for k, v in vars(u).items()} for u in units]
            _print_json(out)
            return
        props = schema.site_properties(site)
        width = max(_width(schema.label(f, "zh")) for f in schema.FIELDS)
        for f in schema.FIELDS:
            value = props[f.name]
            if f.enum and value is not None:
                value = f"{value} ({schema.enum_label(f, value, 'zh')})"
            if isinstance(value, list):
                value = "; ".join(value)
            print(f"{_pad(schema.label(f, 'zh'), width)}  {f.name:<22} {'' if value is None else value}")
        print(f"{_pad('位置', width)}  {'lon, lat':<22} {props['lon']}, {props['lat']} ({site.geometry.geom_type})")
        print(f"\n调查 surveys ({len(surveys)}):")
        for s in surveys:
            print(f"  {s.survey_date}  leasable {_num(s.leasable_area_m2)} m²  occupied {_num(s.occupied_area_m2)} m²"
                  f"  tenants {_num(s.tenant_count)}  [{s.data_status}] {s.source or ''}")
        if units:
            print(f"\n单元 units ({len(units)}):")
            for u in units:
                print(f"  {u.floor:>4} {u.unit_label:<8} {_num(u.area_m2):>8} m²  {u.status:<18} {u.tenant or ''}")


def cmd_stats(args):
    with _store(args) as store:
        rows = inventory.stats(store, _query(args, store))
        if args.json:
            _print_json([r.as_dict() for r in rows])
            return
        header = ["城市 city", "区县 district", "载体 sites", "有调查 surveyed", "可租 leasable m²", "闲置 idle m²",
                  "空置率 vacancy"]
        body = [[r.city, r.district or "(全市 all)", r.sites, r.surveyed, _num(r.leasable_area_m2),
                 _num(r.idle_area_m2), _pct(r.vacancy_rate)] for r in rows]
        print(_grid(header, body))


def cmd_import(args):
    mapping = _mapping(args.mapping)
    progress = _progress_bar()
    plan = importing.read(args.file, crs=args.crs, mapping=mapping, sheet=args.sheet, progress=progress.read)
    progress.close()
    if plan.ignored_columns:
        print(f"ignored columns: {', '.join(plan.ignored_columns)}", file=sys.stderr)
    if args.dry_run:
        for err in plan.errors:
            print(f"  {err}")
        bad = len(plan.errors)
        print(f"dry run: {plan.total_rows} rows, {bad} bad; nothing written"
              + (f"; {len(plan.sites)} sites, {len(plan.surveys)} surveys would be imported" if not bad else ""))
        return 2 if bad else 0
    if plan.errors:
        raise ImportRowsError(plan.errors, plan.total_rows)
    with _store(args) as store:
        progress = _progress_bar()
        result = importing.apply(store, plan, progress=progress.write, actor=_actor(args))
        progress.close()
    print(f"imported {args.file.name}: {result.created} created, {result.updated} updated, "
          f"{result.unchanged} unchanged, {result.surveys} surveys, {result.units} units")


def cmd_export(args):
    with _store(args) as store:
        n = exporting.export(store, _query(args, store), args.file, fmt=args.format, lang=args.lang)
    print(f"exported {n} sites to {args.file}")


def cmd_template(args):
    if args.output:
        importing.write_template(args.output, args.lang)
        print(f"wrote {args.output}")
    else:
        print(",".join(importing.template(args.lang)))


def _mapping(text):
    if not text:
        return None
    if Path(text).exists():
        return Path(text)
    pairs = {}
    for item in text.split(","):
        source, sep, target = item.partition("=")
        if not sep:
            from .errors import ValidationError
            raise ValidationError(f"{item!r} is not SOURCE=FIELD", field="mapping")
        pairs[source.strip()] = target.strip()
    return pairs


class _progress_bar:
    """A tqdm bar on stderr for large files, silent otherwise."""

    def __init__(self, threshold: int = 5000):
        self.bar, self.threshold = None, threshold

    def _update(self, done, total, desc):
        if total < self.threshold or not sys.stderr.isatty() and total < self.threshold * 4:
            return
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit="rows", file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def read(self, done, total):
        self._update(done, total, "read")

    def write(self, done, total):
        self._update(done, total, "write")

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


# --- accounts and the audit trail

def cmd_users_list(args):
    with _store(args) as store:
        users = store.users()
    header = ["username", "role", "scope", "active", "locked", "display name"]
    body = [[u.username, u.role, ",".join(u.scope), "yes" if u.active else "no",
             _utc_text(u.locked_until) if accounts.is_locked(u) else "", u.display_name or ""] for u in users]
    print(_grid(header, body))
    print(f"{len(users)} users")


def cmd_users_add(args):
    with _store(args) as store:
        if store.user(args.name) is not None:
            raise ValidationError(f"user {args.name!r} exists already (change it with users set)", field="username")
        user = accounts.User(args.name, (args.role or "").strip(), display_name=args.display_name or None,
                             scope=_scope(args.scope))
        accounts.validate_user(user)  # before asking for a password
        user = user.replace(password_hash=accounts.hash_password(_read_password(args)))
        with store.transaction(_actor(args)) as tx:
            tx.put_user(user)
    print(f"added {user.username} ({user.role})")


def cmd_users_set(args):
    with _store(args) as store:
        old = _account(store, args.name)
        changes = {"role": args.role.strip() if args.role is not None else None,
                   "scope": _scope(args.scope) if args.scope is not None else None,
                   "display_name": args.display_name if args.display_name is not None else None,
                   "active": args.active}
        changes = {k: v for k, v in changes.items() if v is not None}
        if "display_name" in changes:
            changes["display_name"] = changes["display_name"].strip() or None
        if not changes:
            raise ValidationError("nothing to change: give --role, --scope, --display-name, --active or --inactive",
                                  field="set")
        new = old.replace(**changes)
        if new.role != "editor" and "scope" not in changes and new.role != old.role:
            new = new.replace(scope=())  # a viewer or admin has no scope to keep
        _keep_an_admin(store, old, new)
        with store.transaction(_actor(args)) as tx:
            tx.put_user(new)
    print(f"updated {new.username}: {new.role}, scope {','.join(new.scope) or '-'}, "
          f"{'active' if new.active else 'inactive'}")


def cmd_users_password(args):
    with _store(args) as store:
        old = _account(store, args.name)
        new = old.replace(password_hash=accounts.hash_password(_read_password(args)))
        with store.transaction(_actor(args)) as tx:
            tx.put_user(new)
    print(f"password of {old.username} changed; its browser sessions have ended")


def cmd_users_token(args):
    with _store(args) as store:
        old = _account(store, args.name)
        token, digest = accounts.new_token()
        with store.transaction(_actor(args)) as tx:
            tx.put_user(old.replace(token_hash=digest))
    print(f"API token of {old.username} (shown only now; the previous one no longer works):", file=sys.stderr)
    print(token)


def cmd_users_revoke_token(args):
    with _store(args) as store:
        old = _account(store, args.name)
        with store.transaction(_actor(args)) as tx:
            tx.put_user(old.replace(token_hash=None))
    print(f"API token of {old.username} revoked" if old.token_hash else f"{old.username} had no API token")


def cmd_users_unlock(args):
    with _store(args) as store:
        old = _account(store, args.name)
        with store.transaction(_actor(args)) as tx:
            tx.put_user(old.replace(failed_logins=0, locked_until=None))
    print(f"{old.username} unlocked" if accounts.is_locked(old) else f"{old.username} was not locked")


def _account(store, name: str) -> accounts.User:
    user = store.user(name)
    if user is None:
        raise NotFound(f"username: no user {name!r} (python -m sites users list shows them)")
    return user


def _keep_an_admin(store, old, new) -> None:
    if accounts.removes_last_admin(store.users(), old, new):
        raise ValidationError(f"{old.username} is the last active administrator; make another user admin first",
                              field="role" if new.role != "admin" else "active")


def _scope(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(dict.fromkeys(e.strip() for e in text.replace("，", ",").split(",") if e.strip()))


def _read_password(args) -> str:
    """From the first line of stdin with --password-stdin, else asked twice without echo."""
    import getpass
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("password again: ") != password:
            raise ValidationError("the two passwords differ; nothing changed", field="password")
    return password


def cmd_changes(args):
    f = ChangeFilter(site_id=args.site, user=args.by, channel=_choice(args.channel, CHANNELS, "channel"),
                     action=_choice(args.action, ACTIONS, "action"), since=_since(args.since),
                     limit=_limit(args.limit))
    with _store(args) as store:
        changes, total = store.changes(f)
    if args.json:
        _print_json([{"id": c.id, "at": c.at.strftime("%Y-%m-%dT%H:%M:%SZ"), "user": c.user, "channel": c.channel, "action": c.action,
                      "site_id": c.site_id, "subject": c.subject, "before": c.before, "after": c.after,
                      "batch": c.batch, "version": c.version} for c in changes])
        return
    header = ["when (UTC)", "who", "channel", "action", "site", "changed"]
    body = [[_utc_text(c.at), c.user, c.channel, c.action, c.site_id or (f"user {c.subject}" if c.subject else ""),
             _changed(c)] for c in changes]
    print(_grid(header, body))
    print(f"{len(changes)} of {total} changes" if len(changes) != total else f"{total} changes")


def _choice(value, choices, name):
    if value is not None and value not in choices:
        raise ValidationError(f"{value!r} is not one of {', '.join(choices)}", field=name)
    return value


def _since(text):
    if not text:
        return None
    from datetime import datetime, timezone
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{text!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM)",
                              field="since") from None
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def _limit(text):
    try:
        n = int(text)
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        raise ValidationError(f"{text!r} is not a whole number ≥ 1", field="limit")
    return n


def _changed(c, width: int = 60) -> str:
    """The names of the changed fields, shortened to width."""
    if c.action == "create":
        return "(new site)"
    names = [n for n, _, _ in c.fields()]
    text = ", ".join(names)
    return text if len(text) <= width else text[:width - 1] + "…"


def _utc_text(t) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t is not None else ""


# --- output helpers

LIST_COLUMNS = [("id", "id"), ("name_zh", "名称"), ("city", "城市"), ("district", "区县"), ("status", "状态"),
                ("vacancy_rate", "空置率"), ("idle_area_m2", "闲置㎡"), ("leasable_area_m2", "可租㎡"),
                ("survey_date", "调查日期"), ("occupancy_data_status", "入驻数据"), ("data_status", "数据"),
                ("location_precision", "位置精度")]


def _table(sites) -> str:
    header = [f"{label} {name}" if name != label else name for name, label in LIST_COLUMNS]
    body = []
    for s in sites:
        row = []
        for name, _ in LIST_COLUMNS:
            value = getattr(s, name)
            row.append(_pct(value) if name == "vacancy_rate" else _num(value) if isinstance(value, float) else value)
        body.append(row)
    return _grid(header, body)


def _grid(header, body) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in [header, *body]]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(_pad(v, w) for v, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text))


def _pad(text: str, width: int) -> str:
    return str(text) + " " * (width - _width(text))


def _num(value) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if isinstance(value, float) else str(value)


def _pct(value) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
