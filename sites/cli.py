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

from . import config, exporting, importing, inventory, schema
from .audit import Actor
from .errors import ImportRowsError, SitesError
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
    return p


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
