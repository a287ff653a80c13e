"""Conversion between WGS-84 and the Chinese offset coordinate systems GCJ-02 and BD-09.

GCJ-02 (国测局坐标, "Mars coordinates") is the obfuscated datum that Chinese law requires for
published maps: a WGS-84 longitude/latitude shifted by a smooth, non-linear offset computed on
the Krasovsky ellipsoid.  Amap/Gaode, Tencent maps, Aliyun DataV boundaries and Google's map of
mainland China use it.  BD-09 (百度坐标) is Baidu's further rotation and shift of GCJ-02, used by
Baidu maps and the Baidu APIs.  Near Qingdao the GCJ-02 offset is about 450-480 m east and a
few tens of metres north; BD-09 is a further 850-900 m away from GCJ-02.

The project keeps every coordinate in WGS-84 (EPSG:4326); these systems exist only at the edges:
importing Chinese data (``to_wgs84``) and drawing on Gaode or Baidu basemaps (``from_wgs84``).

The forward transforms (``wgs84_to_gcj02``, ``gcj02_to_bd09``) are the published formulas.
Their inverses have no closed form.  The usual one-step approximation (subtract the offset
computed at the shifted point; cnmaps and most libraries do this) is off by up to about 3 m
(2.8 m measured over the district boundaries of six cities).  ``gcj02_to_wgs84`` and
``bd09_to_gcj02`` instead iterate the forward transform (fixed point: ``p <- p - (f(p) - q)``)
until no coordinate moves by more than 1e-9 degrees (about 0.1 mm); in practice the result
maps forward onto its input to about 1e-12 degrees, so WGS-84 -> GCJ-02 -> WGS-84 round trips
are exact to far better than 1e-7 degrees (1 cm).  That is the precision of the inversion
only: the formulas are themselves the public model of the official offset, and GCJ-02 data
is no more accurate than the survey behind it.

Outside China (the customary box: longitude outside 72.004..137.8347 or latitude outside
0.8293..55.8271) the three systems coincide and every function here returns its input
unchanged; the test is made on the input point of each function, so round trips within a few
hundred metres of the box edge are not exact.  (Many libraries apply the BD-09 shift even
outside China; here BD-09 coincides with WGS-84 there, like GCJ-02.)  A point with a
non-finite coordinate comes back as (NaN, NaN); callers validate.

All functions take and return ``lon, lat`` in that order, as scalars or numpy arrays (anything
``numpy.asarray`` accepts), broadcast together; the result has the broadcast shape, and a pair
of scalars gives a pair of floats.

Other coordinate systems go through pyproj: ``to_wgs84(lon, lat, "EPSG:27700")`` reprojects
British National Grid eastings and northings, ``"EPSG:4490"`` (CGCS2000, used by Tianditu) is
treated as WGS-84 by PROJ.  ``normalize_crs`` gives the canonical name of a CRS and raises
``ValidationError`` for one it does not know.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pyproj
from pyproj.exceptions import CRSError

from sites.errors import ValidationError

__all__ = [
    "GCJ02", "BD09", "WGS84",
    "wgs84_to_gcj02", "gcj02_to_wgs84", "gcj02_to_bd09", "bd09_to_gcj02",
    "wgs84_to_bd09", "bd09_to_wgs84",
    "normalize_crs", "to_wgs84", "from_wgs84",
]

GCJ02 = "GCJ-02"
BD09 = "BD-09"
WGS84 = "EPSG:4326"

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formulas.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

# The box in which the offset is applied.
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271

_TOLERANCE_DEG = 1e-9
_MAX_ITERATIONS = 20

_ALIASES = {
    "gcj02": GCJ02, "gcj": GCJ02, "mars": GCJ02,
    "bd09": BD09, "bd09ll": BD09, "baidu": BD09,
    "wgs84": WGS84, "epsg4326": WGS84, "4326": WGS84,
}


# -- the published GCJ-02 and BD-09 formulas ---------------------------------------------------

def _offset_lat(x, y):
    """The latitude polynomial (metres, roughly) at x = lon - 105, y = lat - 35."""
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lon(x, y):
    """The longitude polynomial (metres, roughly) at x = lon - 105, y = lat - 35."""
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj02_forward(lon, lat):
    """WGS-84 -> GCJ-02 everywhere, without the outside-China test."""
    x, y = lon - 105.0, lat - 35.0
    rad_lat = np.radians(lat)
    w = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_w = np.sqrt(w)
    dlat = _offset_lat(x, y) * 180.0 / ((_A * (1.0 - _EE)) / (w * sqrt_w) * np.pi)
    dlon = _offset_lon(x, y) * 180.0 / (_A / sqrt_w * np.cos(rad_lat) * np.pi)
    return lon + dlon, lat + dlat


def _bd09_forward(lon, lat):
    """GCJ-02 -> BD-09 everywhere, without the outside-China test."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(forward, lon, lat):
    """Solve forward(p) = (lon, lat) for p by fixed-point iteration.

    The offsets change by well under 1 % of themselves per unit of displacement, so each step
    gains two or more digits; three or four steps reach the 1e-9 degree tolerance.
    """
    x, y = lon.copy(), lat.copy()
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        dx, dy = fx - lon, fy - lat
        x, y = x - dx, y - dy
        if not (np.abs(dx) > _TOLERANCE_DEG).any() and not (np.abs(dy) > _TOLERANCE_DEG).any():
            break
    return x, y


# -- array handling -----------------------------------------------------------------------------

def _prepare(lon, lat):
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon, lat


def _finish(lon, lat):
    """A point with a non-finite coordinate becomes (NaN, NaN); a 0-d result a pair of floats."""
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    lon, lat = np.where(bad, np.nan, lon), np.where(bad, np.nan, lat)
    if lon.ndim == 0:
        return float(lon), float(lat)
    return lon, lat


def _in_china(lon, lat):
    """True where the offset applies (the customary box; NaN counts as outside)."""
    return (lon >= _LON_MIN) & (lon <= _LON_MAX) & (lat >= _LAT_MIN) & (lat <= _LAT_MAX)


def _apply_in_china(transform, lon, lat):
    lon, lat = _prepare(lon, lat)
    inside = _in_china(lon, lat)
    out_lon, out_lat = lon.copy(), lat.copy()
    if inside.any():
        new_lon, new_lat = transform(lon[inside], lat[inside])
        out_lon[inside], out_lat[inside] = new_lon, new_lat
    return _finish(out_lon, out_lat)


# -- public conversions -------------------------------------------------------------------------

def wgs84_to_gcj02(lon, lat):
    """WGS-84 lon/lat to GCJ-02 (Amap/Gaode, Tencent).  Unchanged outside China."""
    return _apply_in_china(_gcj02_forward, lon, lat)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 lon/lat to WGS-84, iterated to 1e-9 degrees.  Unchanged outside China."""
    return _apply_in_china(lambda x, y: _invert(_gcj02_forward, x, y), lon, lat)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 lon/lat to BD-09 (Baidu).  Unchanged outside China."""
    return _apply_in_china(_bd09_forward, lon, lat)


def bd09_to_gcj02(lon, lat):
    """BD-09 lon/lat to GCJ-02, iterated to 1e-9 degrees.  Unchanged outside China."""
    return _apply_in_china(lambda x, y: _invert(_bd09_forward, x, y), lon, lat)


def wgs84_to_bd09(lon, lat):
    """WGS-84 lon/lat to BD-09, through GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """BD-09 lon/lat to WGS-84, through GCJ-02."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


# -- any coordinate system ----------------------------------------------------------------------

def normalize_crs(text: str | int) -> str:
    """The canonical name of a CRS: "GCJ-02", "BD-09", "EPSG:4326" or pyproj's authority string.

    Accepts "GCJ-02"/"gcj02", "BD-09"/"bd09" (case, dashes, underscores and spaces ignored),
    "WGS84"/"4326", a bare EPSG number, or anything pyproj understands ("EPSG:27700", a PROJ
    string, WKT).  Raises ``ValidationError(field="crs")`` naming the value when the CRS is
    unknown or is not a horizontal (geographic or projected) one.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise ValidationError(f"a coordinate system must be text such as 'EPSG:4326', not {text!r}",
                              field="crs")
    raw = str(text).strip()
    key = re.sub(r"[\s_:\-]", "", raw).casefold()
    if key in _ALIASES:
        return _ALIASES[key]
    if not raw:
        raise ValidationError("a coordinate system is required, e.g. 'EPSG:4326' or 'GCJ-02'", field="crs")
    return _pyproj_name(f"EPSG:{raw}" if raw.isdigit() else raw)


@functools.lru_cache(maxsize=128)
def _pyproj_name(text: str) -> str:
    try:
        crs = pyproj.CRS.from_user_input(text)
    except CRSError:
        raise ValidationError(f"unknown coordinate system {text!r}", field="crs") from None
    if not (crs.is_geographic or crs.is_projected):
        raise ValidationError(f"coordinate system {text!r} ({crs.name}) is not a horizontal "
                              "geographic or projected one", field="crs")
    authority = crs.to_authority()
    name = ":".join(authority) if authority else crs.to_string()
    return WGS84 if name in ("EPSG:4326", "OGC:CRS84") else name


@functools.lru_cache(maxsize=64)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    """A cached pyproj transformer (thread-safe since pyproj 3.1)."""
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def to_wgs84(lon, lat, crs: str):
    """Coordinates in ``crs`` (x/easting first) to WGS-84 lon/lat."""
    return _convert(lon, lat, normalize_crs(crs), to_wgs=True)


def from_wgs84(lon, lat, crs: str):
    """WGS-84 lon/lat to coordinates in ``crs`` (x/easting first), e.g. for a Gaode basemap."""
    return _convert(lon, lat, normalize_crs(crs), to_wgs=False)


_OFFSET_SYSTEMS = {GCJ02: (gcj02_to_wgs84, wgs84_to_gcj02), BD09: (bd09_to_wgs84, wgs84_to_bd09)}


def _convert(lon, lat, name: str, to_wgs: bool):
    if name in _OFFSET_SYSTEMS:
        return _OFFSET_SYSTEMS[name][0 if to_wgs else 1](lon, lat)
    lon, lat = _prepare(lon, lat)
    if name == WGS84:
        return _finish(lon.copy(), lat.copy())
    source, target = (name, WGS84) if to_wgs else (WGS84, name)
    x, y = _transformer(source, target).transform(lon, lat, errcheck=False)
    return _finish(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
