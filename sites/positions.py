"""Where each row of a sites table is: one WGS-84 geometry a row, from the first position it has.

    1. a geometry: the feature's (GeoJSON, GeoPackage) or WKT in a ``wkt`` (geometry) column
       (continued in wkt_2, wkt_3, ... where an XLSX export had to split it);
    2. ``lon``/``lat`` (经度/纬度, longitude/latitude, lng);
    3. ``x``/``y``: projected coordinates, which need a coordinate system;
    4. ``location``: two numbers in one cell, "(39.29, -76.61)"; the mapping must say their
       order ("@location_order": "latlon" or "lonlat").

A row's coordinate system is its ``crs`` (坐标系) cell, else the ``crs`` argument of the import,
else the mapping's "@crs", else what the file declares (GeoPackage layer, GeoJSON ``crs``),
else WGS-84: "GCJ-02" (Amap/Gaode, Tencent), "BD-09" (Baidu), "EPSG:27700" or anything pyproj
knows.  Conversion is vectorised over all rows; only WGS-84 is stored.
"""

from __future__ import annotations

import re
from typing import Any, Collection

import numpy as np
import shapely

from . import chinacrs
from .errors import ValidationError
from .mapping import Cells, Mapping
from .tables import Table

#: the columns that can place a row
COLUMNS = ("wkt", "lon", "lat", "x", "y", "location")
_LOCATION = re.compile(r"^\s*[(\[]?\s*([-+]?\d+(?:\.\d*)?)\s*[,;\s]\s*([-+]?\d+(?:\.\d*)?)\s*[)\]]?\s*$")
_CRS_CACHE: dict[str, Any] = {}


def check_columns(cols: Collection[str], mapping: Mapping, crs: str | None) -> None:
    """A location column needs the mapping's order; x/y need a coordinate system."""
    if "location" in cols and not mapping.location_order:
        raise ValidationError("a location column holds two numbers: say their order in the mapping "
                              "(\"@location_order\": \"latlon\" or \"lonlat\")", field="location")
    if {"x", "y"} <= set(cols) and "crs" not in cols and not (crs or mapping.crs):
        raise ValidationError("x/y are projected coordinates: give their coordinate system (the crs argument, "
                              "\"@crs\" in the mapping or a crs column)", field="crs")


def locate(table: Table, cells: Cells, cols: Collection[str], crs: str | None,
           location_order: str | None) -> list:
    """The WGS-84 geometry of each row (None where the row has an error in ``cells``).  ``crs``:
    the coordinate system of rows without a crs cell, before what the file declares."""
    if not table.geometries and not any(c in cols or c in cells.fixed for c in COLUMNS):
        raise ValidationError("the file has no position columns: add lon/lat (经度/纬度), x/y, location "
                              "or wkt", field="geometry")
    n = len(table.rows)
    geoms = list(shapely.force_2d(np.array(table.geometries, dtype=object))) if table.geometries else [None] * n
    wkt = cells.values.get("wkt")
    if wkt is not None:
        todo = [i for i in range(n) if geoms[i] is None and wkt[i]]
        for i, g in zip(todo, shapely.from_wkt([wkt[i] for i in todo], on_invalid="ignore")):
            if g is None:
                cells.fail(i, "wkt", f"{wkt[i][:60]!r} is not WKT")
            geoms[i] = g
    xs, ys = np.full(n, np.nan), np.full(n, np.nan)
    projected = np.zeros(n, dtype=bool)
    for i in range(n):
        if geoms[i] is None and i not in cells.errors:
            _coordinates(cells, i, xs, ys, projected, location_order)
    crs_cells = cells.values.get("crs")
    default = crs or table.crs
    groups: dict[str, list[int]] = {}
    for i in range(n):
        if i in cells.errors:
            continue
        name = default or (None if projected[i] else chinacrs.WGS84)
        if crs_cells is not None and crs_cells[i]:
            name = _crs(crs_cells[i])
            if isinstance(name, ValidationError):
                cells.fail(i, "crs", name.reason)
                continue
        if name is None:
            cells.fail(i, "crs", "x/y are projected coordinates; this row needs a crs (坐标系)")
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


def _coordinates(cells: Cells, i: int, xs, ys, projected, location_order: str | None) -> None:
    """Fill xs/ys of row i from lon/lat, x/y or location (in that order), or report it."""
    for a, b in (("lon", "lat"), ("x", "y")):
        va, vb = cells.get(a, i), cells.get(b, i)
        if va is not None and vb is not None:
            xs[i], ys[i], projected[i] = va, vb, a == "x"
            return
        if (va is None) != (vb is None):
            missing = b if vb is None else a
            cells.fail(i, missing, f"is empty while {a if missing == b else b} is given")
            return
    text = cells.get("location", i)
    if text is not None:
        match = _LOCATION.match(text)
        if match is None:
            cells.fail(i, "location", f"{text!r} is not two numbers like (39.29, -76.61)")
            return
        first, second = float(match[1]), float(match[2])
        xs[i], ys[i] = (second, first) if location_order == "latlon" else (first, second)
        return
    cells.fail(i, "geometry", "has no position: give lon/lat (经度/纬度), x/y, a location or a WKT geometry")


def _crs(text: str) -> str | ValidationError:
    if text not in _CRS_CACHE:
        try:
            _CRS_CACHE[text] = chinacrs.normalize_crs(text)
        except ValidationError as exc:
            _CRS_CACHE[text] = exc
    return _CRS_CACHE[text]
