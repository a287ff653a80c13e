"""The import template: a file for planners to fill in, and the headers an import accepts.

``template(lang)`` gives the template's headers, ``write_template(path, lang)`` writes it
(CSV with BOM, or XLSX) with one example row, and ``accepted_headers(kind)`` lists every header
each field of a sites, surveys or units table is read from.  sites.importing reads a filled-in
template back.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from . import schema
from .exporting import write_table
from .schema import Field
from .tables import POSITION_COLUMNS, TABLES, WRITABLE, header

TEMPLATE_COLUMNS: tuple[Field, ...] = tuple(schema.BY_NAME[n] for n in WRITABLE) + tuple(
    f for f in POSITION_COLUMNS if f.name in ("lon", "lat", "crs"))

#: the example row of a template (a made-up site, marked as sample data)
TEMPLATE_EXAMPLE: dict[str, Any] = {
    "id": "qd-example-park", "name_zh": "示例科创园", "name_en": "Example Tech Park", "aliases": ("示例园",),
    "city": "青岛市", "district": "市北区", "district_adcode": "370203", "address_zh": "青岛市市北区示例路1号",
    "kind": "complex", "location_precision": "street", "location_source": "示例：按街道估计",
    "former_use": "纺织厂", "current_use": "科创园区", "year_built": 1958, "heritage_grade": "industrial_heritage",
    "in_historic_area": False, "floors": 4, "gross_floor_area_m2": 12000.0, "leasable_area_m2": 9000.0,
    "status": "partly_idle", "operator": "示例运营公司", "operator_contact": "张经理 0532-0000000",
    "industries": ("软件", "工业设计"),
    "rent_cny_per_m2_day": 1.8, "vacant_since": date(2024, 3, 1), "data_status": "sample",
    "source": "示例数据，非真实载体 (example row: replace it)", "first_added": date(2025, 1, 1),
    "last_updated": date(2025, 6, 30), "lon": 120.3712, "lat": 36.0871, "crs": "WGS-84",
}


def template(lang: str = "zh") -> list[str]:
    """The headers of an import template: every writable field, then lon, lat and crs."""
    return [header(f, lang) for f in TEMPLATE_COLUMNS]


def write_template(path, lang: str = "zh") -> None:
    """Write a template (CSV with BOM, or XLSX, by extension): the header row and one example row."""
    row = [TEMPLATE_EXAMPLE.get(f.name) for f in TEMPLATE_COLUMNS]
    write_table(path, TEMPLATE_COLUMNS, [row], lang)


def accepted_headers(kind: str = "sites") -> dict[str, list[str]]:
    """Every header each field of a sites, surveys or units table is read from."""
    out = {}
    for f in TABLES[kind]:
        names = (f.name, f.label_zh, f.label_en, header(f, "zh"), schema.label(f, "zh"),
                 schema.label(f, "en"), *f.aliases)
        out[f.name] = list(dict.fromkeys(names))
    return out
