"""The table: the format sites travel in between planners' files and the store.

sites.exporting writes tables and sites.importing reads them; this module holds what both
sides agree on, and reads a file into ``Table``s (headers, rows of raw cells, the row numbers
a planner sees, and the geometries and coordinate system the format itself carries).

Columns
    ``TABLE_COLUMNS`` is every column of an export, in order: the site fields
    (``schema.FIELDS``), the rest of the current survey (``SURVEY_COLUMNS``) and the position
    (``POSITION_COLUMNS``).  ``TABLES`` is what an import reads: a sites table (the same
    columns less the derived ones, plus x, y and location), a surveys and a units table.  A
    header is the field name (en) or the Chinese label with its unit (zh: 建筑面积(㎡)).
Cells
    ``text`` writes exact numbers, ISO dates, ``;``-joined lists, and in Chinese tables the
    Chinese enum labels and 是/否.  An Excel cell holds at most ``TEXT_LIMIT`` characters: a
    longer WKT goes on in columns wkt_2, wkt_3, ... (``spill_wkt``; ``join_wkt`` undoes it).

Formats read (``READERS``), by extension
    .csv            UTF-8 (with or without BOM), GBK/GB18030 or UTF-16; comma, semicolon or tab.
    .xlsx           the first sheet, or ``sheet``; the first non-empty row is the header.
    .geojson .json  a FeatureCollection; properties are the columns; the feature ``id`` is the
                    site id when the properties have none.
    .gpkg           the ``sites`` layer (else ``sheet``, else the first layer), and the
                    ``surveys`` and ``units`` tables when present (as sites.exporting writes).
    Row numbers are the ones a planner sees: the header is row 1 of a CSV file or sheet, so
    the first data row is row 2; a GeoJSON or GeoPackage feature is its index + 1.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from . import chinacrs, model, schema
from .errors import ValidationError
from .schema import Field

# --- columns ------------------------------------------------------------------------------------

#: the rest of the current survey (survey_date, occupied_area_m2 and tenant_count are site
#: properties), carried on the site's row so that it survives a table round trip; empty
#: unless occupancy_basis is "survey"
SURVEY_COLUMNS: tuple[Field, ...] = (
    Field("survey_leasable_area_m2", "number", "调查可租面积", "Survey leasable area",
          "Leasable area of the current survey", unit="m²"),
    Field("survey_source", "string", "调查来源", "Survey source", "Source of the current survey"),
    Field("survey_data_status", "enum", "调查数据状态", "Survey data status",
          "Data status of the current survey", enum=model.DATA_STATUSES),
)

#: where a site is, in a table
POSITION_COLUMNS: tuple[Field, ...] = (
    Field("lon", "number", "经度", "Longitude", "Longitude, or x in the row's coordinate system",
          aliases=("longitude", "lng", "long")),
    Field("lat", "number", "纬度", "Latitude", "Latitude, or y in the row's coordinate system",
          aliases=("latitude",)),
    Field("wkt", "string", "几何(WKT)", "Geometry (WKT)", "The whole geometry as WKT (polygons)",
          aliases=("geometry", "geom", "几何", "wkt_geom")),
    Field("crs", "string", "坐标系", "CRS", "Coordinate system of the row, e.g. GCJ-02, BD-09, EPSG:4326",
          aliases=("srs", "坐标系统")),
)

#: every column of a CSV/XLSX export, in order
TABLE_COLUMNS: tuple[Field, ...] = schema.FIELDS + SURVEY_COLUMNS + POSITION_COLUMNS

#: derived or store-maintained columns (our own exports carry them): never read back
DERIVED = ("version", "vacancy_rate", "idle_area_m2")
#: the site fields a row sets: every stored one but the store's version
WRITABLE = tuple(f.name for f in schema.STORED if f.name != "version")
#: import-only position columns, besides lon/lat/wkt/crs
MORE_POSITION_COLUMNS: tuple[Field, ...] = (
    Field("x", "number", "X坐标", "X", "Easting in the row's coordinate system", aliases=("easting",)),
    Field("y", "number", "Y坐标", "Y", "Northing in the row's coordinate system", aliases=("northing",)),
    Field("location", "string", "位置坐标", "Location", "Two numbers in one cell, e.g. (39.29, -76.61)"),
)
#: what an import reads from each kind of table
SITE_COLUMNS: tuple[Field, ...] = tuple(f for f in schema.FIELDS if f.name not in DERIVED) + \
    SURVEY_COLUMNS + POSITION_COLUMNS + MORE_POSITION_COLUMNS
TABLES: dict[str, tuple[Field, ...]] = {"sites": SITE_COLUMNS, "surveys": schema.SURVEY_FIELDS,
                                        "units": schema.UNIT_FIELDS}
#: kind -> every accepted header (normalised) -> field name
INDEX = {kind: schema.header_index(fields) for kind, fields in TABLES.items()}
#: normalised headers an import passes over without listing them as ignored
QUIET = {schema.normalize_header(h) for h in ("occupancy_as_of", "occupancy_leasable_m2", "search_text")} | \
    set(schema.header_index(tuple(schema.BY_NAME[n] for n in DERIVED)))

ROUNDED = frozenset({"vacancy_rate", "idle_area_m2"})  # derived: 6 decimals are plenty
TEXT_LIMIT = 32767  # characters in one Excel cell


def header(f: Field, lang: str) -> str:
    """A column header: the field name (en) or the Chinese label with its unit (zh: 建筑面积(㎡))."""
    if lang != "zh":
        return f.name
    return f"{f.label_zh}({f.unit.replace('m²', '㎡')})" if f.unit else f.label_zh


def text(f: Field, value: Any, lang: str) -> str:
    """A value as table text: exact numbers, ISO dates, ``;``-joined lists, Chinese labels (zh)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("true" if value else "false")
    if isinstance(value, (tuple, list)):
        return ";".join(str(v) for v in value)
    if isinstance(value, float):
        if f.name in ROUNDED:
            value = round(value, 6)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if f.enum and lang == "zh":
        return schema.enum_label(f, value, "zh")
    return str(value)


def spill_wkt(headers: list[str], cells: list[list], names: list[str]) -> None:
    """An Excel cell holds at most 32,767 characters: a longer WKT goes on in columns
    ``wkt_2``, ``wkt_3``, ... at the end of the row (``join_wkt`` joins them again)."""
    if "wkt" not in names:
        return
    j = names.index("wkt")
    spill = 0
    for row in cells:
        value = row[j] or ""
        parts = [value[k:k + TEXT_LIMIT] for k in range(0, len(value), TEXT_LIMIT)] or [None]
        row[j] = parts[0]
        row.append(parts[1:])
        spill = max(spill, len(parts) - 1)
    headers += [f"{headers[j]}_{k}" for k in range(2, spill + 2)]
    for row in cells:
        more = row.pop()
        row += more + [None] * (spill - len(more))


# --- reading files into tables ------------------------------------------------------------------

@dataclass
class Table:
    name: str
    headers: list[str]
    rows: list[tuple]  # cells, as long as headers
    numbers: list[int]  # the row number a planner sees
    geometries: list | None = None  # from the format itself (GeoJSON, GeoPackage)
    crs: str | None = None  # declared by the file


def join_wkt(table: Table) -> None:
    """Join WKT that an XLSX export spilled over columns wkt_2, wkt_3, ... (Excel's cell limit)."""
    keys = [schema.normalize_header(h) for h in table.headers]
    base = [j for j, k in enumerate(keys) if INDEX["sites"].get(k) == "wkt"]
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


def _read_csv(path: Path, sheet: str | None) -> list[Table]:
    text = decode(path.read_bytes())
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    return [_table(path.name, enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1))]


def _read_xlsx(path: Path, sheet: str | None) -> list[Table]:
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


def _table(name: str, numbered_rows) -> Table:
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
    return Table(name, headers or [], rows, numbers)


def _read_geojson(path: Path, sheet: str | None) -> list[Table]:
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
    return [Table(path.name, names, rows, list(range(1, len(rows) + 1)), geometries, crs)]


def _read_gpkg(path: Path, sheet: str | None) -> list[Table]:
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


def _gpkg_table(pyogrio, path: Path, layer: str) -> Table:
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
    return Table(layer, [str(h) for h in meta["fields"]], rows, list(range(1, n + 1)), geometries, crs)


#: extension -> reader(path, sheet): the tables of a file, the main one first
READERS = {".csv": _read_csv, ".txt": _read_csv, ".tsv": _read_csv, ".xlsx": _read_xlsx,
           ".geojson": _read_geojson, ".json": _read_geojson, ".gpkg": _read_gpkg}
