"""Import sites, surveys and units from the tables planners already keep.

``read(path)`` turns a file into an ``ImportPlan``: the records, and every bad row with its
row number and field; nothing is written.  ``apply(store, plan)`` writes a clean plan in one
transaction (all or nothing).  ``template(lang)`` / ``write_template(path, lang)`` give a
file to fill in; ``accepted_headers()`` lists the headers each field accepts.

Formats, by extension
    .csv            UTF-8 (with or without BOM), GBK/GB18030 or UTF-16; comma, semicolon or tab.
    .xlsx           the first sheet, or ``sheet``; the first non-empty row is the header.
    .geojson .json  a FeatureCollection; properties are the columns; the feature ``id`` is the
                    site id when the properties have none.
    .gpkg           the ``sites`` layer (else ``sheet``, else the first layer), and the
                    ``surveys`` and ``units`` tables when present (as sites.exporting writes).
    What a table holds is told from its columns: name_zh makes a sites table, floor and
    unit_label a units table, survey_date with an area or tenant count a surveys table.

Columns
    Headers may be field names, Chinese or English labels, with or without units (建筑面积,
    建筑面积(㎡), gross_floor_area_m2) or the aliases in ``accepted_headers()``; case, spaces and
    full-width brackets do not matter.  Unknown columns are ignored and listed in
    ``plan.ignored_columns``; derived ones (version, vacancy_rate, idle_area_m2) are ignored
    quietly.  Every required field needs a column or a mapping value, data_status included:
    the importer never guesses that data is verified.  Empty first_added / last_updated
    become ``today``.

Position, the first one a row has
    1. a geometry: the feature's (GeoJSON, GeoPackage) or WKT in a ``wkt`` (geometry) column
       (continued in wkt_2, wkt_3, ... where an XLSX export had to split it);
    2. ``lon``/``lat`` (经度/纬度, longitude/latitude, lng);
    3. ``x``/``y``: projected coordinates, which need a coordinate system;
    4. ``location``: two numbers in one cell, "(39.29, -76.61)"; the mapping must say their
       order ("@location_order": "latlon" or "lonlat").
    A row's coordinate system is its ``crs`` (坐标系) cell, else the ``crs`` argument, else the
    mapping's "@crs", else what the file declares (GeoPackage layer, GeoJSON ``crs``), else
    WGS-84: "GCJ-02" (Amap/Gaode, Tencent), "BD-09" (Baidu), "EPSG:27700" or anything pyproj
    knows.  Conversion is vectorised over all rows; only WGS-84 is stored.

Occupancy on a site row
    A sites row may carry its current survey, as the CSV/XLSX/GeoJSON exports write it:
    survey_date, occupied_area_m2, tenant_count, and optionally survey_leasable_area_m2
    (default, when empty and an occupied area is given: the site's leasable_area_m2),
    survey_source and survey_data_status (default, when the column is absent: the row's source
    and data_status).  A row with a survey_date and occupancy_basis empty or "survey" gives a
    Survey (checked like any survey); occupancy_basis "units" gives none (units come from a
    units table).  An occupied area without a survey_date is an error.

Mapping: for registers with their own columns
    A dict, or a JSON, YAML or CSV file (CSV: header ``source,field``, one entry a row):

    "SiteReference": "id"         the column holds that field; a list maps one column to several
                                  fields; null or "" drops the column quietly.  Targets: any
                                  site, survey or unit field, lon, lat, x, y, location, wkt, crs,
                                  and the survey columns above.
    "=city": "Stoke-on-Trent"     the value of a field for every row that has no cell for it
    "status:permissioned": "planned"
                                  translation: a cell reading "permissioned" (ignoring case and
                                  extra spaces) is read as "planned"; other cells are unchanged
    "@crs": "EPSG:27700"          options: @crs; @location_order (latlon or lonlat); @id_prefix
                                  (put before every id); @id_slug (true: lower-case ids and turn
                                  other characters into "-"); @sheet
    "#": "..."                    comments: any key starting with #

    A mapping naming a column the file lacks, or a target that is not a field, is an error
    naming the entry.  Examples: tests/data/stoke_brownfield_mapping.json, baltimore_vacants_mapping.json.

Errors name the row a planner sees: the header is row 1 of a CSV file or sheet, so the first
data row is row 2; a GeoJSON or GeoPackage feature is its index + 1.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import shapely

from . import chinacrs, exporting, schema
from .errors import ImportRowsError, NotFound, ValidationError
from .model import Site, Survey, Unit
from .schema import Field
from .validation import validate_site, validate_survey, validate_units

Progress = Callable[[int, int], None]

#: derived or store-maintained columns (our own exports carry them): never read back
_DERIVED = ("version", "vacancy_rate", "idle_area_m2")
_QUIET = {schema.normalize_header(h) for h in ("occupancy_as_of", "occupancy_leasable_m2", "search_text")} | \
    set(schema.header_index(tuple(schema.BY_NAME[n] for n in _DERIVED)))

#: import-only position columns, besides lon/lat/wkt/crs
_MORE_POSITION = (
    Field("x", "number", "X坐标", "X", "Easting in the row's coordinate system", aliases=("easting",)),
    Field("y", "number", "Y坐标", "Y", "Northing in the row's coordinate system", aliases=("northing",)),
    Field("location", "string", "位置坐标", "Location", "Two numbers in one cell, e.g. (39.29, -76.61)"),
)
SITE_COLUMNS: tuple[Field, ...] = tuple(f for f in schema.FIELDS if f.name not in _DERIVED) + \
    exporting.SURVEY_COLUMNS + exporting.POSITION_COLUMNS + _MORE_POSITION
TABLES: dict[str, tuple[Field, ...]] = {"sites": SITE_COLUMNS, "surveys": schema.SURVEY_FIELDS,
                                        "units": schema.UNIT_FIELDS}
_INDEX = {kind: schema.header_index(fields) for kind, fields in TABLES.items()}
_TARGETS = {f.name for fields in TABLES.values() for f in fields}
_SITE_ARGS = tuple(f.name for f in schema.STORED if f.name != "version")
_POSITIONS = ("wkt", "lon", "lat", "x", "y", "location")
_OBSERVATIONS = ("occupied_area_m2", "leasable_area_m2", "tenant_count")  # what a survey records
_LOCATION = re.compile(r"^\s*[(\[]?\s*([-+]?\d+(?:\.\d*)?)\s*[,;\s]\s*([-+]?\d+(?:\.\d*)?)\s*[)\]]?\s*$")
#: stands in for a site that is not in the file: only the rules that do not depend on the site
#: apply while reading; the store checks the rest when the plan is applied
_MISSING = object()
_ANY_SITE = Site(id="any", name_zh="", geometry=shapely.Point(0, 0), city="")


@dataclass
class ImportPlan:
    """What a file would import; nothing is written until ``apply``."""

    sites: list[Site] = field(default_factory=list)
    surveys: list[Survey] = field(default_factory=list)
    units: dict[str, list[Unit]] = field(default_factory=dict)
    errors: list[ValidationError] = field(default_factory=list)
    total_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # what each table held: sites, surveys, units
    site_rows: dict[str, int] = field(default_factory=dict)  # site id -> row, for errors in apply
    survey_rows: list[int] = field(default_factory=list)  # row of each survey
    unit_rows: dict[str, int] = field(default_factory=dict)  # site id -> row of its first unit


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    surveys: int  # surveys added or changed
    units: int  # units written, in sites whose units changed


# --- mapping ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mapping:
    """A parsed mapping (see the module docstring)."""

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # normalised header -> fields
    constants: dict[str, Any] = field(default_factory=dict)  # field -> raw value
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> folded text -> raw
    crs: str | None = None
    location_order: str | None = None
    id_prefix: str = ""
    id_slug: bool = False
    sheet: str | None = None


def load_mapping(mapping: dict | str | Path | Mapping | None) -> Mapping:
    """A mapping from a dict or a JSON/YAML/CSV file; ValidationError names a bad entry."""
    if mapping is None or isinstance(mapping, Mapping):
        return mapping or Mapping()
    if isinstance(mapping, dict):
        return _parse_mapping(list(mapping.items()))
    if isinstance(mapping, (str, Path)):
        return _parse_mapping(_mapping_entries(Path(mapping)))
    raise ValidationError("a mapping is a dict or the path of a JSON, YAML or CSV file", field="mapping")


def _mapping_entries(path: Path) -> list[tuple[str, Any]]:
    if not path.is_file():
        raise ValidationError(f"no mapping file {path}", field="mapping")
    text, suffix = decode(path.read_bytes()), path.suffix.lower()
    try:
        if suffix == ".csv":
            rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)]
            if not rows or [c.strip().lower() for c in rows[0][:2]] != ["source", "field"]:
                raise ValidationError(f"{path.name}: a CSV mapping starts with the header row source,field",
                                      field="mapping")
            return [(r[0], r[1] if len(r) > 1 else "") for r in rows[1:]]
        if suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text)
        else:
            raise ValidationError(f"{path.name}: a mapping file is .json, .yaml or .csv", field="mapping")
    except (ValueError, ImportError) as exc:  # json and yaml errors are ValueErrors
        raise ValidationError(f"cannot read mapping {path.name}: {exc}", field="mapping") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path.name}: a mapping is an object of source -> field entries", field="mapping")
    return list(data.items())


def _parse_mapping(entries: list[tuple[str, Any]]) -> Mapping:
    columns: dict[str, list[str]] = {}
    constants, translations, options = {}, {}, {}
    for key, value in entries:
        key = str(key).strip()
        where = f"mapping entry {key!r}"
        if not key or key.startswith("#"):
            continue
        if key.startswith("@"):
            options[key[1:].strip()] = value
            continue
        name, _, text = key.partition(":")
        if key.startswith("="):
            constants[_target(key[1:].strip(), where)] = value
        elif text and name.strip() in _TARGETS:
            translations.setdefault(name.strip(), {})[_fold(text)] = value
        else:
            targets = value if isinstance(value, list) else [] if value in (None, "") else [value]
            columns.setdefault(schema.normalize_header(key), []).extend(_target(str(t), where) for t in targets)
    return Mapping({k: tuple(v) for k, v in columns.items()}, constants, translations, **_options(options))


def _target(name: str, where: str) -> str:
    if name not in _TARGETS:
        raise ValidationError(f"{where}: {name!r} is not a field we know; use one of "
                              f"{', '.join(sorted(_TARGETS))}", field=name)
    return name


def _options(options: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in options.items():
        where = f"mapping entry '@{name}'"
        if name == "crs":
            try:
                out["crs"] = chinacrs.normalize_crs(value)
            except ValidationError as exc:
                raise ValidationError(f"{where}: {exc.reason}", field="crs") from None
        elif name == "location_order":
            order = str(value).strip().lower().replace("/", "").replace(",", "")
            if order not in ("latlon", "lonlat"):
                raise ValidationError(f"{where}: {value!r} is not latlon or lonlat", field="location")
            out["location_order"] = order
        elif name == "id_prefix":
            out["id_prefix"] = str(value or "").strip()
        elif name == "id_slug":
            try:
                out["id_slug"] = bool(schema.coerce(Field("id_slug", "boolean", "", ""), value))
            except ValidationError as exc:
                raise ValidationError(f"{where}: {exc.reason}", field="id") from None
        elif name == "sheet":
            out["sheet"] = str(value)
        else:
            raise ValidationError(f"{where}: unknown option (known: @crs, @location_order, @id_prefix, "
                                  "@id_slug, @sheet)", field="mapping")
    return out


def _fold(text: Any) -> str:
    return " ".join(str(text).split()).casefold()


# --- reading files into tables ----------------------------------------------------------------------

@dataclass
class _Table:
    name: str
    headers: list[str]
    rows: list[tuple]  # cells, as long as headers
    numbers: list[int]  # the row number a planner sees
    geometries: list | None = None  # from the format itself (GeoJSON, GeoPackage)
    crs: str | None = None  # declared by the file


def decode(data: bytes) -> str:
    """Text of a file: UTF-16 (BOM), UTF-8 (BOM optional), GB18030/GBK, else a detected encoding."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes
    best = from_bytes(data).best()
    if best is None:
        raise ValidationError("cannot tell the text encoding of the file; save it as UTF-8 CSV", field="file")
    return str(best)


def _read_csv(path: Path, sheet: str | None) -> list[_Table]:
    text = decode(path.read_bytes())
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    return [_table(path.name, enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1))]


def _read_xlsx(path: Path, sheet: str | None) -> list[_Table]:
    from openpyxl import load_workbook
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ValidationError(f"cannot read {path.name} as an Excel workbook ({exc})", field="file") from None
    try:
        names = {name.strip(): name for name in book.sheetnames}
        if sheet is not None and sheet.strip() not in names:
            raise ValidationError(f"{path.name} has no sheet {sheet!r} (it has {', '.join(book.sheetnames)})",
                                  field="sheet")
        ws = book[names[sheet.strip()]] if sheet is not None else book.worksheets[0]
        ws.reset_dimensions()
        return [_table(path.name, enumerate(ws.iter_rows(values_only=True), 1))]
    finally:
        book.close()


def _table(name: str, numbered_rows) -> _Table:
    """A table from (row number, cells): the first non-blank row is the header; blank rows are skipped."""
    headers, rows, numbers = None, [], []
    for number, cells in numbered_rows:
        if all(schema.is_blank(c) for c in cells):
            continue
        if headers is None:
            headers = ["" if c is None else str(c).strip() for c in cells]
            width = len(headers)
            continue
        cells = tuple(cells)
        rows.append(cells[:width] if len(cells) >= width else cells + (None,) * (width - len(cells)))
        numbers.append(number)
    return _Table(name, headers or [], rows, numbers)


def _read_geojson(path: Path, sheet: str | None) -> list[_Table]:
    from shapely.geometry import shape
    try:
        data = json.loads(decode(path.read_bytes()))
    except ValueError as exc:
        raise ValidationError(f"{path.name} is not JSON ({exc})", field="file") from None
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in ("FeatureCollection", "Feature"):
        raise ValidationError(f"{path.name} is not a GeoJSON FeatureCollection", field="file")
    features = [data] if kind == "Feature" else (data.get("features") or [])
    headers: dict[str, None] = {}
    for f in features:
        headers.update(dict.fromkeys(f.get("properties") or {}))
    use_id = "id" not in headers and any(f.get("id") is not None for f in features)
    names = (["id"] if use_id else []) + list(headers)
    rows, geometries, points = [], [], {}
    for k, f in enumerate(features):
        props = f.get("properties") or {}
        rows.append(((f.get("id"),) if use_id else ()) + tuple(props.get(h) for h in headers))
        geometries.append(None)  # a row without a usable geometry needs another position, or is reported
        g = f.get("geometry")
        try:
            if g.get("type") == "Point":  # most features: made in bulk below
                points[k] = (float(g["coordinates"][0]), float(g["coordinates"][1]))
            else:
                geometries[k] = shape(g)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.ShapelyError):
            pass
    for k, point in zip(points, shapely.points(list(points.values()) or np.empty((0, 2)))):
        geometries[k] = point
    declared = data.get("crs")  # pre-RFC 7946 files may name their CRS
    name = declared.get("properties", {}).get("name") if isinstance(declared, dict) else None
    crs = chinacrs.normalize_crs(name) if name else None
    return [_Table(path.name, names, rows, list(range(1, len(rows) + 1)), geometries, crs)]


def _read_gpkg(path: Path, sheet: str | None) -> list[_Table]:
    import pyogrio
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio's DataSourceError and friends
        raise ValidationError(f"cannot read {path.name} as a GeoPackage ({exc})", field="file") from None
    if not layers:
        raise ValidationError(f"{path.name} has no layers", field="file")
    if sheet is not None and sheet not in layers:
        raise ValidationError(f"{path.name} has no layer {sheet!r} (it has {', '.join(layers)})", field="sheet")
    main = sheet or ("sites" if "sites" in layers else layers[0])
    extra = [name for name in ("surveys", "units") if name in layers and name != main]
    return [_gpkg_table(pyogrio, path, main)] + [_gpkg_table(pyogrio, path, name) for name in extra]


def _gpkg_table(pyogrio, path: Path, layer: str) -> _Table:
    meta, _, geometry, data = pyogrio.raw.read(path, layer=layer)
    columns = []
    for values, subtype in zip(data, meta["ogr_subtypes"]):
        values = values.tolist()
        if subtype == "OFSTBoolean":  # nullable booleans come back as floats
            values = [None if v is None or v != v else bool(v) for v in values]
        columns.append(values)
    n = len(columns[0]) if columns else (0 if geometry is None else len(geometry))
    rows = list(zip(*columns)) if columns else [()] * n
    geometries = list(shapely.from_wkb(geometry)) if geometry is not None else None
    crs = chinacrs.normalize_crs(meta["crs"]) if meta.get("crs") else None
    return _Table(layer, [str(h) for h in meta["fields"]], rows, list(range(1, n + 1)), geometries, crs)


_READERS = {".csv": _read_csv, ".txt": _read_csv, ".tsv": _read_csv, ".xlsx": _read_xlsx,
            ".geojson": _read_geojson, ".json": _read_geojson, ".gpkg": _read_gpkg}


# --- tables into records --------------------------------------------------------------------------

def read(path, *, crs: str | None = None, mapping: dict | str | Path | Mapping | None = None,
         sheet: str | None = None, today: date | None = None, progress: Progress | None = None) -> ImportPlan:
    """Read a file into an ImportPlan (see the module docstring); writes nothing.

    Problems with the file as a whole (unreadable, a required column missing, a bad mapping)
    raise ValidationError; bad rows are collected in ``plan.errors``, all of them.
    """
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise ValidationError(f"cannot import {path.name!r}: use {', '.join(_READERS)}", field="file")
    if not path.is_file():
        raise ValidationError(f"no file {path}", field="file")
    m = load_mapping(mapping)
    tables = reader(path, sheet if sheet is not None else m.sheet)
    work = _Reader(m, chinacrs.normalize_crs(crs) if crs else None, today or date.today(),
                   progress, sum(len(t.rows) for t in tables))
    plan = ImportPlan()
    for k, table in enumerate(tables):
        work.table(plan, table, m if k == 0 else Mapping(), main=k == 0, row_surveys=len(tables) == 1)
    return plan


class _Reader:
    """Turns tables into records for one read(): columns resolved and coerced column by column
    (values are cached, so repeated categories cost nothing), positions converted in bulk,
    then one plain loop over the rows."""

    def __init__(self, mapping: Mapping, crs: str | None, today: date, progress: Progress | None, total: int):
        self.m, self.crs, self.today = mapping, crs, today
        self.progress, self.total, self.done = progress, total, 0

    def table(self, plan: ImportPlan, table: _Table, mapping: Mapping, main: bool, row_surveys: bool):
        self.m = mapping
        _join_wkt(table)
        kind = _kind(table, mapping)
        self.fields = {f.name: f for f in TABLES[kind]}
        self.cols, ignored = self._columns(table, kind, check_mapping=main)
        self._require(kind)
        self.values, self.errors = self._coerce(table)
        self.rows, self.numbers, self.label = table.rows, table.numbers, "" if main else f"in the {table.name} table: "
        plan.kinds.append(kind)
        plan.total_rows += len(table.rows)
        plan.ignored_columns += [h for h in ignored if h not in plan.ignored_columns]
        if kind == "sites":
            self._sites(plan, table, row_surveys)
        elif kind == "surveys":
            self._surveys(plan)
        else:
            self._units(plan)
        plan.errors += [self._at(i, e) for i, e in sorted(self.errors.items())]

    # columns
    def _columns(self, table: _Table, kind: str, check_mapping: bool) -> tuple[dict[str, int], list[str]]:
        index, found, explicit, ignored = _INDEX[kind], {}, set(), []
        keys = [schema.normalize_header(h) for h in table.headers]
        if check_mapping:
            absent = [k for k in self.m.columns if k not in keys]
            if absent:
                raise ValidationError(f"the mapping names column(s) {', '.join(absent)} which {table.name} does "
                                      f"not have (its columns: {', '.join(table.headers)})", field="mapping")
        for j, key in enumerate(keys):
            for target in self.m.columns.get(key, ()):
                if target not in self.fields:
                    raise ValidationError(f"mapping entry {table.headers[j]!r}: a {kind} table has no field "
                                          f"{target!r}", field=target)
                if target in found:
                    raise ValidationError(f"the mapping sends two columns to {target!r}", field=target)
                found[target] = j
                explicit.add(target)
        for j, (key, text) in enumerate(zip(keys, table.headers)):
            name = index.get(key)
            if key in self.m.columns or not key or (name is None and key in _QUIET):
                continue
            if name is None or name in explicit:
                ignored.append(text)
            elif name in found:
                raise ValidationError(f"columns {table.headers[found[name]]!r} and {text!r} both hold {name}; "
                                      "remove one or map it elsewhere", field=name)
            else:
                found[name] = j
        return found, ignored

    def _require(self, kind: str) -> None:
        for f in self.fields.values():
            if f.required and f.name not in self.cols and f.name not in self.m.constants:
                raise ValidationError(
                    f"the file has no column for {f.name} ({f.label_zh}); add one, or give one value for every "
                    f"row in a mapping (\"={f.name}\": ...)", field=f.name)
        if kind != "sites":
            return
        if "location" in self.cols and not self.m.location_order:
            raise ValidationError("a location column holds two numbers: say their order in the mapping "
                                  "(\"@location_order\": \"latlon\" or \"lonlat\")", field="location")
        if {"x", "y"} <= set(self.cols) and "crs" not in self.cols and not (self.crs or self.m.crs):
            raise ValidationError("x/y are projected coordinates: give their coordinate system (the crs argument, "
                                  "\"@crs\" in the mapping or a crs column)", field="crs")

    # values
    def _coerce(self, table: _Table) -> tuple[dict[str, list], dict[int, ValidationError]]:
        values, errors, self.fixed = {}, {}, {}
        for name, raw in self.m.constants.items():
            if name in self.fields:
                try:
                    self.fixed[name] = self._id(name, schema.coerce(self.fields[name], raw))
                except ValidationError as exc:
                    raise ValidationError(f"mapping entry '={name}': {exc.reason}", field=name) from None
        for name, j in self.cols.items():
            f, cache, translations = self.fields[name], {}, self.m.translations.get(name)
            column = values[name] = []
            for i, row in enumerate(table.rows):
                raw = row[j]
                key = (type(raw), raw) if not isinstance(raw, (list, dict)) else None
                hit = cache.get(key, _MISSING)
                if hit is _MISSING:
                    try:
                        hit = self._cell(f, raw, translations)
                    except ValidationError as exc:
                        hit = exc
                    if key is not None:
                        cache[key] = hit
                if isinstance(hit, ValidationError):
                    errors.setdefault(i, hit)
                    hit = None
                column.append(hit)
        return values, errors

    def _cell(self, f: Field, raw: Any, translations: dict) -> Any:
        if translations and not schema.is_blank(raw) and _fold(raw) in translations:
            raw = translations[_fold(raw)]
        if schema.is_blank(raw) and f.name in self.fixed:
            return self.fixed[f.name]
        return self._id(f.name, schema.coerce(f, raw))

    def _id(self, name: str, value: Any) -> Any:
        if name not in ("id", "site_id") or value is None:
            return value
        if self.m.id_slug:
            value = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
        return self.m.id_prefix + value

    def _get(self, name: str, i: int) -> Any:
        column = self.values.get(name)
        return column[i] if column is not None else self.fixed.get(name)

    def _at(self, i: int, exc: ValidationError) -> ValidationError:
        return ValidationError(self.label + exc.reason, field=exc.field, site_id=exc.site_id, row=self.numbers[i])

    def _fail(self, i: int, name: str, message: str) -> None:
        self.errors.setdefault(i, ValidationError(message, field=name))

    def _tick(self) -> None:
        self.done += 1
        if self.progress and (self.done % 1000 == 0 or self.done == self.total):
            self.progress(self.done, self.total)

    # positions
    def _positions(self, table: _Table) -> list:
        n = len(table.rows)
        geoms = list(shapely.force_2d(np.array(table.geometries, dtype=object))) if table.geometries else [None] * n
        wkt = self.values.get("wkt")
        if wkt is not None:
            todo = [i for i in range(n) if geoms[i] is None and wkt[i]]
            for i, g in zip(todo, shapely.from_wkt([wkt[i] for i in todo], on_invalid="ignore")):
                if g is None:
                    self._fail(i, "wkt", f"{wkt[i][:60]!r} is not WKT")
                geoms[i] = g
        xs, ys = np.full(n, np.nan), np.full(n, np.nan)
        projected = np.zeros(n, dtype=bool)
        for i in range(n):
            if geoms[i] is None and i not in self.errors:
                self._coordinates(i, xs, ys, projected)
        crs_cells = self.values.get("crs")
        default = self.crs or self.m.crs or table.crs
        groups: dict[str, list[int]] = {}
        for i in range(n):
            if i in self.errors:
                continue
            name = default or (None if projected[i] else chinacrs.WGS84)
            if crs_cells is not None and crs_cells[i]:
                name = _crs(crs_cells[i])
                if isinstance(name, ValidationError):
                    self._fail(i, "crs", name.reason)
                    continue
            if name is None:
                self._fail(i, "crs", "x/y are projected coordinates; this row needs a crs (坐标系)")
                continue
            groups.setdefault(name, []).append(i)
        for name, rows in groups.items():
            points = [i for i in rows if geoms[i] is None]
            if points:
                lon, lat = (xs[points], ys[points]) if name == chinacrs.WGS84 else \
                    chinacrs.to_wgs84(xs[points], ys[points], name)
                for i, g in zip(points, shapely.points(lon, lat)):
                    geoms[i] = g
            shapes = sorted(set(rows).difference(points))
            if shapes and name != chinacrs.WGS84:
                moved = shapely.transform(np.array([geoms[i] for i in shapes], dtype=object),
                                          lambda xy: np.column_stack(chinacrs.to_wgs84(xy[:, 0], xy[:, 1], name)))
                for i, g in zip(shapes, moved):
                    geoms[i] = g
        return geoms

    def _coordinates(self, i: int, xs, ys, projected) -> None:
        """Fill xs/ys of row i from lon/lat, x/y or location (in that order), or report it."""
        for a, b in (("lon", "lat"), ("x", "y")):
            va, vb = self._get(a, i), self._get(b, i)
            if va is not None and vb is not None:
                xs[i], ys[i], projected[i] = va, vb, a == "x"
                return
            if (va is None) != (vb is None):
                missing = b if vb is None else a
                self._fail(i, missing, f"is empty while {a if missing == b else b} is given")
                return
        text = self._get("location", i)
        if text is not None:
            match = _LOCATION.match(text)
            if match is None:
                self._fail(i, "location", f"{text!r} is not two numbers like (39.29, -76.61)")
                return
            first, second = float(match[1]), float(match[2])
            xs[i], ys[i] = (second, first) if self.m.location_order == "latlon" else (first, second)
            return
        self._fail(i, "geometry", "has no position: give lon/lat (经度/纬度), x/y, a location or a WKT geometry")

    # records
    def _sites(self, plan: ImportPlan, table: _Table, row_surveys: bool) -> None:
        if not table.geometries and not any(c in self.cols or c in self.fixed for c in _POSITIONS):
            raise ValidationError("the file has no position columns: add lon/lat (经度/纬度), x/y, location "
                                  "or wkt", field="geometry")
        geoms = self._positions(table)
        present = [(name, self.values[name]) for name in _SITE_ARGS if name in self.values]
        fixed = {name: self.fixed[name] for name in _SITE_ARGS if name in self.fixed and name not in self.values}
        if row_surveys and "occupied_area_m2" in self.cols and "survey_date" not in self.cols:
            raise ValidationError("an occupied area needs the date of its survey: add a survey_date (调查日期) "
                                  "column", field="survey_date")
        row_surveys = row_surveys and "survey_date" in self.cols
        seen = plan.site_rows
        for i in range(len(table.rows)):
            self._tick()
            if i in self.errors:
                continue
            kw = dict(fixed)
            for name, column in present:
                kw[name] = column[i]
            kw["first_added"] = kw.get("first_added") or self.today
            kw["last_updated"] = kw.get("last_updated") or self.today
            try:
                site = Site(geometry=geoms[i], **kw)
                validate_site(site, self.today)
                survey = self._row_survey(site, i) if row_surveys else None
            except ValidationError as exc:
                self.errors[i] = exc
                continue
            if site.id in seen:
                self._fail(i, "id", f"{site.id!r} appears twice, in rows {seen[site.id]} and {self.numbers[i]}")
                continue
            seen[site.id] = self.numbers[i]
            plan.sites.append(site)
            if survey is not None:
                plan.surveys.append(survey)
                plan.survey_rows.append(self.numbers[i])

    def _row_survey(self, site: Site, i: int) -> Survey | None:
        if self._get("occupancy_basis", i) == "units":
            return None
        when, occupied = self._get("survey_date", i), self._get("occupied_area_m2", i)
        if when is None:
            if occupied is None:
                return None
            raise ValidationError("is required with occupied_area_m2 (the date of that survey)",
                                  field="survey_date", site_id=site.id)
        leasable = self._get("survey_leasable_area_m2", i)
        if leasable is None and occupied is not None:
            leasable = site.leasable_area_m2
        source = self._get("survey_source", i) if "survey_source" in self.cols else site.source
        status = self._get("survey_data_status", i) if "survey_data_status" in self.cols else None
        survey = Survey(site.id, when, leasable, occupied, self._get("tenant_count", i), source,
                        status or site.data_status)
        validate_survey(survey, site, self.today)
        return survey

    def _records(self, make, check) -> list[tuple[int, Any]]:
        """Build one record a row with make(kw) and check(record), collecting errors."""
        names = list(self.fields)  # an absent column reads as empty
        out = []
        for i in range(len(self.rows)):
            self._tick()
            if i in self.errors:
                continue
            try:
                record = make({name: self._get(name, i) for name in names})
                check(record)
            except ValidationError as exc:
                self.errors[i] = exc
                continue
            out.append((i, record))
        return out

    def _surveys(self, plan: ImportPlan) -> None:
        sites = {s.id: s for s in plan.sites}
        seen: dict[tuple, int] = {}
        for i, s in self._records(lambda kw: Survey(**kw),
                                  lambda s: validate_survey(s, sites.get(s.site_id, _ANY_SITE), self.today)):
            key = (s.site_id, s.survey_date)
            if key in seen:
                self._fail(i, "survey_date", f"site {s.site_id!r} has two surveys on {s.survey_date}, in rows "
                                             f"{seen[key]} and {self.numbers[i]}")
                continue
            seen[key] = self.numbers[i]
            plan.surveys.append(s)
            plan.survey_rows.append(self.numbers[i])

    def _units(self, plan: ImportPlan) -> None:
        sites = {s.id: s for s in plan.sites}
        seen: dict[tuple, int] = {}
        groups: dict[str, list[tuple[int, Unit]]] = {}
        for i, u in self._records(lambda kw: Unit(**kw), lambda u: validate_units(_ANY_SITE, [u], self.today)):
            key = (u.site_id, u.floor, u.unit_label)
            if key in seen:
                self._fail(i, "unit_label", f"unit {u.floor}/{u.unit_label} of {u.site_id!r} appears twice, in rows "
                                            f"{seen[key]} and {self.numbers[i]}")
                continue
            seen[key] = self.numbers[i]
            groups.setdefault(u.site_id, []).append((i, u))
        for site_id, group in groups.items():
            units = [u for _, u in group]
            if site_id in sites:
                try:
                    validate_units(sites[site_id], units, self.today)
                except ValidationError as exc:
                    self.errors.setdefault(group[0][0], exc)
                    continue
            plan.units.setdefault(site_id, []).extend(units)
            plan.unit_rows.setdefault(site_id, self.numbers[group[0][0]])


def _join_wkt(table: _Table) -> None:
    """Join WKT that an XLSX export spilled over columns wkt_2, wkt_3, ... (Excel's cell limit)."""
    keys = [schema.normalize_header(h) for h in table.headers]
    base = [j for j, k in enumerate(keys) if _INDEX["sites"].get(k) == "wkt"]
    if len(base) != 1:
        return
    prefix = keys[base[0]] + "_"
    more = sorted((int(k[len(prefix):]), j) for j, k in enumerate(keys)
                  if k.startswith(prefix) and k[len(prefix):].isdigit())
    if not more:
        return
    order = [base[0]] + [j for _, j in more]
    keep = [j for j in range(len(keys)) if j not in order[1:]]
    table.headers = [table.headers[j] for j in keep]
    table.rows = [tuple("".join(row[j] or "" for j in order) if j == base[0] else row[j] for j in keep)
                  for row in table.rows]


def _kind(table: _Table, m: Mapping) -> str:
    """sites, units or surveys, from the columns (and the mapping's targets and constants)."""
    keys = {schema.normalize_header(h) for h in table.headers}

    def has(kind: str, *names: str) -> bool:
        index = _INDEX[kind]
        got = set(m.constants) | {index[k] for k in keys if k in index and k not in m.columns}
        got.update(t for k in keys for t in m.columns.get(k, ()))
        return all(n in got for n in names)

    if not has("sites", "name_zh"):
        if has("units", "floor", "unit_label"):
            return "units"
        if has("surveys", "survey_date") and any(has("surveys", n) for n in _OBSERVATIONS):
            return "surveys"
    return "sites"


_CRS_CACHE: dict[str, Any] = {}


def _crs(text: str) -> str | ValidationError:
    if text not in _CRS_CACHE:
        try:
            _CRS_CACHE[text] = chinacrs.normalize_crs(text)
        except ValidationError as exc:
            _CRS_CACHE[text] = exc
    return _CRS_CACHE[text]


# --- writing a plan -----------------------------------------------------------------------------

def apply(store, plan: ImportPlan, *, progress: Progress | None = None) -> ImportResult:
    """Write a plan in one transaction: sites (by id: new ones created, changed ones updated,
    the rest left alone), then surveys, then units.  A plan with errors, or any record the
    store refuses, raises ImportRowsError and leaves the store as it was.

    A stored position that agrees with the imported one to within 1e-9° (0.1 mm) is kept, so
    that formats holding 16 significant digits (Excel) do not update every site.
    """
    if plan.errors:
        raise ImportRowsError(plan.errors, plan.total_rows)
    created = updated = unchanged = surveys = units = 0
    errors: list[ValidationError] = []
    total, done = len(plan.sites) + len(plan.surveys) + len(plan.units), 0

    def tick():
        nonlocal done
        done += 1
        if progress and (done % 500 == 0 or done == total):
            progress(done, total)

    try:
        with store.transaction() as tx:
            for site in plan.sites:
                old = _stored(store, site.id)
                if old is not None and old.geometry.equals_exact(site.geometry, 1e-9):
                    site = site.replace(geometry=old.geometry)
                changed = _write(tx, partial(tx.put_site, site), errors, plan.site_rows.get(site.id))
                created += changed and old is None
                updated += changed and old is not None
                unchanged += not changed
                tick()
            rows = plan.survey_rows if len(plan.survey_rows) == len(plan.surveys) else [None] * len(plan.surveys)
            for survey, row in zip(plan.surveys, rows):
                surveys += _write(tx, partial(tx.put_survey, survey), errors, row)
                tick()
            for site_id, group in plan.units.items():
                units += len(group) * _write(tx, partial(tx.set_units, site_id, group), errors,
                                             plan.unit_rows.get(site_id))
                tick()
            if errors:
                raise ImportRowsError(errors, plan.total_rows)
    except ValidationError as exc:  # the commit check: a site no longer agrees with its surveys or units
        row = plan.site_rows.get(exc.site_id) or plan.unit_rows.get(exc.site_id)
        raise ImportRowsError([ValidationError(exc.reason, field=exc.field, site_id=exc.site_id, row=row)],
                              plan.total_rows) from None
    return ImportResult(created, updated, unchanged, surveys, units)


def _stored(store, site_id: str) -> Site | None:
    try:
        return store.get(site_id)
    except NotFound:
        return None


def _write(tx, put, errors: list, row: int | None) -> bool:
    """Run one write; True if it changed something.  A refused record is collected with its row."""
    before = tx.changed
    try:
        put()
    except ValidationError as exc:
        errors.append(ValidationError(exc.reason, field=exc.field, site_id=exc.site_id, row=row))
        return False
    except NotFound as exc:  # units of a site neither stored nor imported
        errors.append(ValidationError(exc.message, field="site_id", row=row))
        return False
    return tx.changed > before


# --- templates and documentation -----------------------------------------------------------------

TEMPLATE_COLUMNS: tuple[Field, ...] = tuple(schema.BY_NAME[n] for n in _SITE_ARGS) + tuple(
    f for f in exporting.POSITION_COLUMNS if f.name in ("lon", "lat", "crs"))

#: the example row of a template (a made-up site, marked as sample data)
TEMPLATE_EXAMPLE: dict[str, Any] = {
    "id": "qd-example-park", "name_zh": "示例科创园", "name_en": "Example Tech Park", "aliases": ("示例园",),
    "city": "青岛市", "district": "市北区", "district_adcode": "370203", "address_zh": "青岛市市北区示例路1号",
    "kind": "complex", "location_precision": "street", "location_source": "示例：按街道估计",
    "former_use": "纺织厂", "current_use": "科创园区", "year_built": 1958, "heritage_grade": "industrial_heritage",
    "in_historic_area": False, "floors": 4, "gross_floor_area_m2": 12000.0, "leasable_area_m2": 9000.0,
    "status": "partly_idle", "operator": "示例运营公司", "industries": ("软件", "工业设计"),
    "rent_cny_per_m2_day": 1.8, "vacant_since": date(2024, 3, 1), "data_status": "sample",
    "source": "示例数据，非真实载体 (example row: replace it)", "first_added": date(2025, 1, 1),
    "last_updated": date(2025, 6, 30), "lon": 120.3712, "lat": 36.0871, "crs": "WGS-84",
}


def template(lang: str = "zh") -> list[str]:
    """The headers of an import template: every writable field, then lon, lat and crs."""
    return [exporting.header(f, lang) for f in TEMPLATE_COLUMNS]


def write_template(path, lang: str = "zh") -> None:
    """Write a template (CSV with BOM, or XLSX, by extension): the header row and one example row."""
    row = [TEMPLATE_EXAMPLE.get(f.name) for f in TEMPLATE_COLUMNS]
    exporting.write_table(path, TEMPLATE_COLUMNS, [row], lang)


def accepted_headers(kind: str = "sites") -> dict[str, list[str]]:
    """Every header each field of a sites, surveys or units table is read from."""
    out = {}
    for f in TABLES[kind]:
        names = (f.name, f.label_zh, f.label_en, exporting.header(f, "zh"), schema.label(f, "zh"),
                 schema.label(f, "en"), *f.aliases)
        out[f.name] = list(dict.fromkeys(names))
    return out


__all__ = ["read", "apply", "load_mapping", "template", "write_template", "accepted_headers", "decode",
           "ImportPlan", "ImportResult", "Mapping", "TABLES", "TEMPLATE_COLUMNS", "TEMPLATE_EXAMPLE"]
