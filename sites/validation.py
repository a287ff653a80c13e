"""The invariants every record must hold, each violation a ValidationError naming
the site and the field.  Used by every write path: import, CLI, forms, API.
"""

from __future__ import annotations

import re
from datetime import date

from . import model
from .cities import CITIES
from .errors import ValidationError
from .schema import BY_NAME, FIELDS, SURVEY_FIELDS, UNIT_FIELDS

ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_AREA_FIELDS = ("gross_floor_area_m2", "leasable_area_m2", "rent_cny_per_m2_day")


def validate_site(site: model.Site, today: date | None = None) -> None:
    today = today or date.today()
    sid = site.id

    def fail(field, message):
        raise ValidationError(message, field=field, site_id=sid)

    if not isinstance(sid, str) or not ID_PATTERN.match(sid) or len(sid) > 64:
        raise ValidationError(f"{sid!r} is not a valid id (lowercase letters, digits and single dashes, "
                              "e.g. qd-yunxin)", field="id", site_id=None)
    for f in FIELDS:
        value = getattr(site, f.name)
        if f.derived:
            continue
        if f.required and (value is None or value == ""):
            fail(f.name, "is required")
        if f.enum and value is not None and value not in f.enum:
            fail(f.name, f"{value!r} is not one of {', '.join(f.enum)}")
        if f.type == "date" and value is not None and value > today:
            fail(f.name, f"{value.isoformat()} is in the future")
    for name in _AREA_FIELDS:
        value = getattr(site, name)
        if value is not None and value < 0:
            fail(name, f"must be ≥ 0, got {value:g}")
    if site.floors is not None and not 0 <= site.floors <= 200:
        fail("floors", f"must be between 0 and 200, got {site.floors}")
    if site.year_built is not None and not 1000 <= site.year_built <= today.year + 10:
        fail("year_built", f"{site.year_built} is not a plausible year")
    gross, leasable = site.gross_floor_area_m2, site.leasable_area_m2
    if gross is not None and leasable is not None and leasable > gross:
        fail("leasable_area_m2", f"leasable area {leasable:g} m² exceeds gross floor area {gross:g} m²")
    if site.district_adcode is not None and not re.fullmatch(r"\d{6}", site.district_adcode):
        fail("district_adcode", f"{site.district_adcode!r} is not a 6-digit adcode")
    if site.first_added and site.last_updated and site.last_updated < site.first_added:
        fail("last_updated", "is before first_added")
    _validate_geometry(site, fail)


def _validate_geometry(site, fail):
    g = site.geometry
    if g is None or g.is_empty:
        fail("geometry", "is missing")
    if g.geom_type not in ("Point", "Polygon", "MultiPolygon"):
        fail("geometry", f"must be a Point, Polygon or MultiPolygon, got {g.geom_type}")
    if not g.is_valid:
        from shapely.validation import explain_validity
        fail("geometry", f"is invalid: {explain_validity(g)}")
    minx, miny, maxx, maxy = g.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        fail("geometry", f"coordinates {g.bounds} are not lon/lat degrees (WGS-84); declare the source CRS")
    city = CITIES.get(site.city)
    if city is not None:
        if not city.contains_bounds(g.bounds):
            p = site.representative_point()
            fail("geometry", f"lies outside {site.city} (at lon {p.x:.5f}, lat {p.y:.5f}; "
                             f"{site.city} spans lon {city.bbox[0]}..{city.bbox[2]}, lat {city.bbox[1]}..{city.bbox[3]})")
        if site.district_adcode and not site.district_adcode.startswith(city.adcode[:4]):
            fail("district_adcode", f"{site.district_adcode} is not in {site.city} (adcodes there start {city.adcode[:4]})")


def validate_survey(survey: model.Survey, site: model.Site | None, today: date | None = None) -> None:
    today = today or date.today()

    def fail(field, message):
        raise ValidationError(message, field=field, site_id=survey.site_id)

    if site is None:
        fail("site_id", "no such site")
    if survey.survey_date > today:
        fail("survey_date", f"{survey.survey_date.isoformat()} is in the future")
    leasable, occupied = survey.leasable_area_m2, survey.occupied_area_m2
    if leasable is not None and leasable < 0:
        fail("leasable_area_m2", "must be ≥ 0")
    if occupied is not None and occupied < 0:
        fail("occupied_area_m2", "must be ≥ 0")
    if leasable is None and occupied is not None:
        fail("leasable_area_m2", "is required when the occupied area is given")
    if occupied is not None and occupied > leasable:
        fail("occupied_area_m2", f"occupied area {occupied:g} m² exceeds leasable area {leasable:g} m²")
    if leasable is None and occupied is None and survey.tenant_count is None:
        fail("occupied_area_m2", "a survey needs the areas or at least a tenant count")
    if site.gross_floor_area_m2 is not None and leasable is not None and leasable > site.gross_floor_area_m2:
        fail("leasable_area_m2", f"surveyed leasable area {survey.leasable_area_m2:g} m² exceeds the site's "
                                 f"gross floor area {site.gross_floor_area_m2:g} m²")
    if survey.tenant_count is not None and survey.tenant_count < 0:
        fail("tenant_count", "must be ≥ 0")
    if survey.data_status not in model.DATA_STATUSES:
        fail("data_status", f"{survey.data_status!r} is not one of {', '.join(model.DATA_STATUSES)}")


def validate_units(site: model.Site, units: list[model.Unit], today: date | None = None) -> None:
    today = today or date.today()
    seen = set()
    for u in units:
        def fail(field, message):
            raise ValidationError(f"unit {u.floor}/{u.unit_label}: {message}", field=field, site_id=site.id)
        key = (u.floor, u.unit_label)
        if key in seen:
            fail("unit_label", "appears twice (a unit's area may be counted only once)")
        seen.add(key)
        if u.area_m2 < 0:
            fail("area_m2", "must be ≥ 0")
        if u.status not in model.UNIT_STATUSES:
            fail("status", f"{u.status!r} is not one of {', '.join(model.UNIT_STATUSES)}")
        if u.updated_on and u.updated_on > today:
            fail("updated_on", f"{u.updated_on.isoformat()} is in the future")
    total = sum(u.area_m2 for u in units)
    limit = site.leasable_area_m2 if site.leasable_area_m2 is not None else site.gross_floor_area_m2
    if limit is not None and total > limit + 1e-6:
        which = "leasable_area_m2" if site.leasable_area_m2 is not None else "gross_floor_area_m2"
        raise ValidationError(f"units add up to {total:g} m², more than the site's {which} {limit:g} m²",
                              field="area_m2", site_id=site.id)


__all__ = ["validate_site", "validate_survey", "validate_units", "ID_PATTERN", "BY_NAME",
           "SURVEY_FIELDS", "UNIT_FIELDS"]
