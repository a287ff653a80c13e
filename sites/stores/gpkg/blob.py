"""GeoPackage geometry blobs (GeoPackage 1.3, clause 2.1.3) and the SQL functions
that GDAL's R-tree triggers call (ST_IsEmpty, ST_MinX, ...).

A blob is ``'GP'``, a version byte, a flags byte, the srs_id (int32), an optional
envelope, then standard WKB.  We write little-endian headers, no envelope for
points and an xy envelope for everything else, as GDAL does.
"""

from __future__ import annotations

import struct

import shapely

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def encode(geom, srs_id: int = 4326) -> bytes:
    wkb = shapely.to_wkb(geom, byte_order=1, output_dimension=2)
    if geom.is_empty:
        return b"GP\x00" + bytes([0b10001]) + struct.pack("<i", srs_id) + wkb
    if geom.geom_type == "Point":
        return b"GP\x00\x01" + struct.pack("<i", srs_id) + wkb
    minx, miny, maxx, maxy = geom.bounds
    return b"GP\x00\x03" + struct.pack("<i4d", srs_id, minx, maxx, miny, maxy) + wkb


def _header(blob: bytes) -> tuple[int, int, str]:
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    flags = blob[3]
    envelope = (flags >> 1) & 0b111
    return flags, 8 + _ENVELOPE_BYTES.get(envelope, 0), "<" if flags & 1 else ">"


def wkb(blob: bytes) -> bytes:
    return blob[_header(blob)[1]:]


def decode(blob: bytes):
    return shapely.from_wkb(wkb(blob))


def decode_many(blobs) -> list:
    return list(shapely.from_wkb([wkb(b) for b in blobs]))


def bounds(blob: bytes) -> tuple[float, float, float, float] | None:
    """(minx, miny, maxx, maxy) without building a geometry where the header allows."""
    flags, size, order = _header(blob)
    if flags & 0b10000:
        return None
    if size > 8:
        minx, maxx, miny, maxy = struct.unpack_from(order + "4d", blob, 8)
        return minx, miny, maxx, maxy
    body = blob[size:]
    wkb_order = "<" if body[0] == 1 else ">"
    if struct.unpack_from(wkb_order + "I", body, 1)[0] == 1:  # 2-D point
        x, y = struct.unpack_from(wkb_order + "2d", body, 5)
        return x, y, x, y
    return shapely.from_wkb(body).bounds


def point_xy(blob: bytes) -> tuple[float, float] | None:
    """The coordinates of a 2-D point blob, or None if it is not one (fast path for filters)."""
    flags, size, _ = _header(blob)
    body = blob[size:]
    order = "<" if body[0] == 1 else ">"
    if struct.unpack_from(order + "I", body, 1)[0] != 1:
        return None
    return struct.unpack_from(order + "2d", body, 5)


def register_functions(conn) -> None:
    """The functions GeoPackage R-tree triggers call; without them any write to a
    feature table fails with 'no such function: ST_IsEmpty'."""
    def is_empty(blob):
        return None if blob is None else int(bool(_header(blob)[0] & 0b10000))

    def coord(i):
        def f(blob):
            if blob is None:
                return None
            b = bounds(blob)
            return None if b is None else b[i]
        return f

    conn.create_function("ST_IsEmpty", 1, is_empty, deterministic=True)
    conn.create_function("ST_MinX", 1, coord(0), deterministic=True)
    conn.create_function("ST_MinY", 1, coord(1), deterministic=True)
    conn.create_function("ST_MaxX", 1, coord(2), deterministic=True)
    conn.create_function("ST_MaxY", 1, coord(3), deterministic=True)
