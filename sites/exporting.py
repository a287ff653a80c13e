"""Export sites to the files planners and GIS tools open: CSV, XLSX, GeoJSON, GeoPackage.

``export(store, query, path)`` writes the sites a query selects and returns how many.  The
format comes from the file's extension or ``fmt``:

csv
    UTF-8 with a byte-order mark, so Excel opens Chinese text correctly.  One row a site; the
    header row holds field names (``lang="en"``) or Chinese labels with units (``lang="zh"``,
    e.g. ``建筑面积(㎡)``; enum values and yes/no are then written in Chinese too).  Lists are
    joined with ``;``.  After the site properties come the derived ones (version, survey_date,
    occupied_area_m2, tenant_count, idle_area_m2, vacancy_rate, occupancy_basis), the rest of the
    current survey (``SURVEY_COLUMNS``) and the position: ``lon``/``lat`` (the point, or a representative point
    of a polygon), ``wkt`` (the full geometry, for polygons only) and ``crs`` (always
    EPSG:4326).  Numbers are written exactly, so nothing is lost on the way back in.  The
    columns, headers and cell text are the table format of sites.tables.
xlsx
    The same columns in one sheet, numbers and dates as Excel values, a frozen header row and
    column widths fitted to the text.
geojson
    An RFC 7946 FeatureCollection (WGS-84, no ``crs`` member): ``id`` is the site id,
    properties are ``schema.site_properties(site)`` plus ``SURVEY_COLUMNS``; one feature a line.
    Polygon rings are written as stored (not re-wound), so a re-import changes nothing.
gpkg
    A complete inventory: a new GeoPackage store (``open_store(path, create=True)``) holding
    the selected sites with all their surveys and units, and every district boundary, written
    in one transaction.  The export is itself a store; versions restart at 1.

Every file is written beside its target under a temporary name and moved into place when
complete, so a failed export never leaves half a file (or replaces a good one).
sites.importing reads every one of these back; re-importing an export changes nothing.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable

import shapely
from shapely.geometry import mapping as geojson_geometry

from . import schema
from .errors import ValidationError
from .model import Site, Survey
from .query import Query
from .schema import Field
from .tables import (POSITION_COLUMNS, ROUNDED, SURVEY_COLUMNS, TABLE_COLUMNS, TEXT_LIMIT, header, spill_wkt,
                     text)

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg"}
LANGS = ("en", "zh")


def export(store, query: Query | None, path, *, fmt: str | None = None, lang: str = "en",
           progress: Callable[[int, int], None] | None = None, hidden: frozenset[str] = frozenset()) -> int:
    """Write the sites ``query`` selects (all, retired ones included, when None) to ``path``.

    ``hidden`` (confidential) fields are left out of the file: no column in CSV/XLSX, no property
    in GeoJSON, empty in a GeoPackage (whose tables keep every column), and units' tenant names
    are emptied when ``tenant`` is hidden."""
    path = Path(path)
    fmt = _format(path, fmt)
    if lang not in LANGS:
        raise ValidationError(f"{lang!r} is not a language of the export (en or zh)", field="lang")
    sites = store.query(query or Query()).sites
    if hidden:
        sites = [schema.redact(s, hidden) for s in sites]
    if fmt == "gpkg":
        _export_gpkg(store, sites, path, progress, hidden)
    elif fmt == "geojson":
        _replace(path, lambda tmp: _write_geojson(store, sites, tmp, hidden))
    else:
        keep = [k for k, f in enumerate(TABLE_COLUMNS) if f.name not in hidden]
        rows = [row_values(site, _current_survey(store, site)) for site in sites]
        if len(keep) < len(TABLE_COLUMNS):
            rows = [[row[k] for k in keep] for row in rows]
        write_table(path, tuple(TABLE_COLUMNS[k] for k in keep), rows, lang, fmt)
    return len(sites)


def _format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        fmt = FORMATS.get("." + fmt, fmt)
    else:
        fmt = FORMATS.get(path.suffix.lower())
    if fmt not in FORMATS.values():
        raise ValidationError(f"cannot tell the export format of {path.name!r}: use a file ending in "
                              f"{', '.join(FORMATS)} or give fmt", field="fmt")
    return fmt


# --- CSV and XLSX ----------------------------------------------------------------------------------

def _current_survey(store, site: Site) -> Survey | None:
    if site.occupancy_basis != "survey":
        return None
    surveys = store.surveys(site.id)
    return max(surveys, key=lambda s: s.survey_date) if surveys else None


def row_values(site: Site, survey: Survey | None = None) -> list[Any]:
    """A site as Python values in TABLE_COLUMNS order (``survey``: its current survey, if any)."""
    values = [getattr(site, f.name) for f in schema.FIELDS]
    if survey is not None:
        values += [site.occupancy.leasable_area_m2, survey.source, survey.data_status]
    else:
        values += [None] * len(SURVEY_COLUMNS)
    point = site.representative_point()
    wkt = None if site.geometry.geom_type == "Point" else shapely.to_wkt(site.geometry, rounding_precision=-1)
    return values + [point.x, point.y, wkt, "EPSG:4326"]


def _xlsx_value(f: Field, value: Any, lang: str) -> Any:
    if isinstance(value, bool) or value is None:
        return text(f, value, lang) or None
    if isinstance(value, (int, float)):
        return round(value, 6) if f.name in ROUNDED else value
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value
    return text(f, value, lang) if f.name == "wkt" else text(f, value, lang)[:TEXT_LIMIT]


def write_table(path, fields: tuple[Field, ...], rows: Iterable[list[Any]], lang: str = "en",
                fmt: str | None = None) -> None:
    """Write rows of Python values under the fields' headers as CSV or XLSX (by extension)."""
    path = Path(path)
    fmt = _format(path, fmt)
    if fmt == "csv":
        _replace(path, lambda tmp: _write_csv(tmp, fields, rows, lang))
    elif fmt == "xlsx":
        _replace(path, lambda tmp: _write_xlsx(tmp, fields, list(rows), lang))
    else:
        raise ValidationError(f"a table is written as .csv or .xlsx, not {fmt}", field="fmt")


def _write_csv(path: Path, fields, rows, lang) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([header(f, lang) for f in fields])
        for row in rows:
            writer.writerow([text(f, v, lang) for f, v in zip(fields, row)])


def _write_xlsx(path: Path, fields, rows, lang) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    headers = [header(f, lang) for f in fields]
    cells = [[_xlsx_value(f, v, lang) for f, v in zip(fields, row)] for row in rows]
    spill_wkt(headers, cells, [f.name for f in fields])
    book = Workbook(write_only=True)
    sheet = book.create_sheet("sites")
    sheet.freeze_panes = "A2"
    for j, name in enumerate(headers):
        longest = max([_width(name)] + [_width(r[j]) for r in cells[:1000]])
        sheet.column_dimensions[get_column_letter(j + 1)].width = min(max(longest + 2, 8), 50)
    sheet.append(headers)
    for row in cells:
        sheet.append(row)
    book.save(path)


def _width(value: Any) -> int:
    """Display width of a cell: CJK characters take two columns."""
    if value is None:
        return 0
    if hasattr(value, "isoformat"):
        return 10
    return sum(2 if ord(c) > 0x2E7F else 1 for c in str(value)[:60])


# --- GeoJSON and GeoPackage -------------------------------------------------------------------------

def feature(site: Site, survey: Survey | None = None) -> dict:
    """A site as an RFC 7946 Feature: the site properties plus its current survey."""
    props = schema.site_properties(site)
    values = row_values(site, survey)
    offset = len(schema.FIELDS)
    for k, f in enumerate(SURVEY_COLUMNS):
        props[f.name] = schema.to_json_value(values[offset + k])
    return {"type": "Feature", "id": site.id, "geometry": geojson_geometry(site.geometry),
            "properties": props}


def _write_geojson(store, sites: list[Site], path: Path, hidden: frozenset[str] = frozenset()) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write('{"type": "FeatureCollection", "features": [')
        for k, site in enumerate(sites):
            out.write(",\n" if k else "\n")
            f = feature(site, _current_survey(store, site))
            for name in hidden:
                f["properties"].pop(name, None)
            out.write(json.dumps(f, ensure_ascii=False))
        out.write("\n]}\n")


def _export_gpkg(store, sites: list[Site], path: Path, progress, hidden: frozenset[str] = frozenset()) -> None:
    from .stores import open_store

    def write(tmp: Path) -> None:
        target = open_store(str(tmp), create=True)
        try:
            with target.transaction() as tx:
                for district in store.districts():
                    tx.put_district(district)
                for k, site in enumerate(sites, start=1):
                    tx.put_site(site.replace(version=0, occupancy=None))
                    if progress and (k % 1000 == 0 or k == len(sites)):
                        progress(k, len(sites))
                for site in sites:
                    for survey in store.surveys(site.id):
                        tx.put_survey(survey)
                    units = schema.redact_units(store.units(site.id), hidden)
                    if units:
                        tx.set_units(site.id, units)
        finally:
            target.close()

    _replace(path, write)


def _replace(path: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary file beside ``path``, then move it into place (or remove it)."""
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    _remove(tmp)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


__all__ = ["export", "FORMATS", "TABLE_COLUMNS", "SURVEY_COLUMNS", "POSITION_COLUMNS", "header", "text",
           "row_values", "feature", "write_table"]
