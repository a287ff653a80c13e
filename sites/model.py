"""What a site is.

Vocabulary, defined once and used everywhere (storage, CLI, API, map):

site
    A building, a complex of buildings, or a whole area (a corridor or zone) that
    is, or could become, a home for tech businesses.  Identified by a stable
    readable ``id`` slug (``qd-yunxin``) that is never reused.
survey
    One occupancy observation of a site on a date: leasable area, occupied area,
    tenant count, source.  Surveys are the site's history.
unit
    An optional subdivision of a site (a floor's rentable unit) with its own status.
occupancy
    A site's *current* occupancy: from its units when it has any (the finer,
    live record), otherwise from its latest survey.  ``None`` when neither exists.
vacancy rate
    ``(leasable - occupied) / leasable`` of the current occupancy, 0..1.
idle area
    ``leasable - occupied`` of the current occupancy, in m².
status
    The site's life-cycle state (idle, partly_idle, renovating, operating,
    planned, retired).  Sites are retired, never deleted.
data status
    How far a record can be trusted: verified (checked on site), reported
    (from a published source), sample (illustrative, not real).

Vacancy rate and idle area are derived from the occupancy every time they are
read; they are never stored, so they cannot disagree with it.
Coordinates are lon/lat WGS-84 (EPSG:4326).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

from shapely.geometry.base import BaseGeometry

# Enumerations: value -> (Chinese label, English label).  Order is display order.
KINDS = {
    "building": ("单体建筑", "Building"),
    "complex": ("建筑群/园区", "Complex"),
    "area": ("片区/走廊", "Area"),
}
LOCATION_PRECISIONS = {
    "surveyed": ("实测", "Surveyed"),
    "building": ("建筑级", "Building"),
    "street": ("街道级", "Street"),
    "district": ("区县级", "District"),
}
HERITAGE_GRADES = {
    "national": ("全国重点文物保护单位", "National protected monument"),
    "provincial": ("省级文物保护单位", "Provincial protected monument"),
    "municipal": ("市级文物保护单位", "Municipal protected monument"),
    "historic_building": ("历史建筑", "Historic building"),
    "industrial_heritage": ("工业遗产", "Industrial heritage"),
    "none": ("无", "None"),
}
STATUSES = {
    "idle": ("闲置", "Idle"),
    "partly_idle": ("部分闲置", "Partly idle"),
    "renovating": ("改造中", "Renovating"),
    "operating": ("运营中", "Operating"),
    "planned": ("规划中", "Planned"),
    "retired": ("已退出", "Retired"),
}
DATA_STATUSES = {
    "verified": ("已核实", "Verified"),
    "reported": ("公开报道", "Reported"),
    "sample": ("示例数据", "Sample"),
}
UNIT_STATUSES = {
    "vacant_available": ("空置可租", "Vacant, available"),
    "vacant_unavailable": ("空置不可租", "Vacant, unavailable"),
    "reserved": ("已预订", "Reserved"),
    "leased": ("已出租", "Leased"),
    "owner_occupied": ("自用", "Owner-occupied"),
}
#: unit statuses whose area counts as occupied; the others count as idle
OCCUPIED_UNIT_STATUSES = frozenset({"leased", "owner_occupied"})


@dataclass(frozen=True)
class Survey:
    site_id: str
    survey_date: date
    leasable_area_m2: float | None  # None: not published (a tenant count alone is still an observation)
    occupied_area_m2: float | None
    tenant_count: int | None = None
    source: str | None = None
    data_status: str = "sample"


@dataclass(frozen=True)
class Unit:
    site_id: str
    floor: str
    unit_label: str
    area_m2: float
    status: str
    tenant: str | None = None
    updated_on: date | None = None


@dataclass(frozen=True)
class Occupancy:
    """A site's current occupancy (see the module docstring)."""

    as_of: date | None
    leasable_area_m2: float | None
    occupied_area_m2: float | None
    tenant_count: int | None
    basis: str  # "units" or "survey"
    data_status: str | None = None  # the survey's; None for units (the site's own data status applies)

    @property
    def idle_area_m2(self) -> float | None:
        if self.leasable_area_m2 is None or self.occupied_area_m2 is None:
            return None
        return max(self.leasable_area_m2 - self.occupied_area_m2, 0.0)

    @property
    def vacancy_rate(self) -> float | None:
        idle = self.idle_area_m2
        if idle is None or self.leasable_area_m2 <= 0:
            return None
        return idle / self.leasable_area_m2


def current_occupancy(surveys: list[Survey], units: list[Unit]) -> Occupancy | None:
    """The one rule for a site's current occupancy: its units if any, else its latest survey.

    Units never overlap (one row a floor and label), so summing their areas counts
    nothing twice.
    """
    if units:
        leasable = sum(u.area_m2 for u in units)
        occupied = sum(u.area_m2 for u in units if u.status in OCCUPIED_UNIT_STATUSES)
        tenants = {u.tenant for u in units if u.tenant and u.status in OCCUPIED_UNIT_STATUSES}
        dates = [u.updated_on for u in units if u.updated_on]
        return Occupancy(max(dates) if dates else None, leasable, occupied, len(tenants), "units")
    if surveys:
        s = max(surveys, key=lambda s: s.survey_date)
        return Occupancy(s.survey_date, s.leasable_area_m2, s.occupied_area_m2, s.tenant_count, "survey",
                         s.data_status)
    return None


@dataclass(frozen=True)
class Site:
    id: str
    name_zh: str
    geometry: BaseGeometry
    city: str
    kind: str = "building"
    status: str = "idle"
    location_precision: str = "district"
    data_status: str = "sample"
    name_en: str | None = None
    aliases: tuple[str, ...] = ()
    district: str | None = None
    district_adcode: str | None = None
    address_zh: str | None = None
    location_source: str | None = None
    former_use: str | None = None
    current_use: str | None = None
    year_built: int | None = None
    heritage_grade: str | None = None
    in_historic_area: bool | None = None
    floors: int | None = None
    gross_floor_area_m2: float | None = None
    leasable_area_m2: float | None = None
    operator: str | None = None
    operator_contact: str | None = None
    industries: tuple[str, ...] = ()
    rent_cny_per_m2_day: float | None = None
    vacant_since: date | None = None
    source: str | None = None
    first_added: date | None = None
    last_updated: date | None = None
    #: bumped by the store on every write; a write naming an older version is refused
    version: int = 0
    #: filled in by the store when read, from the site's surveys and units
    occupancy: Occupancy | None = field(default=None, compare=False)

    def replace(self, **changes) -> "Site":
        return dataclasses.replace(self, **changes)

    @property
    def vacancy_rate(self) -> float | None:
        return self.occupancy.vacancy_rate if self.occupancy else None

    @property
    def idle_area_m2(self) -> float | None:
        return self.occupancy.idle_area_m2 if self.occupancy else None

    @property
    def occupied_area_m2(self) -> float | None:
        return self.occupancy.occupied_area_m2 if self.occupancy else None

    @property
    def tenant_count(self) -> int | None:
        return self.occupancy.tenant_count if self.occupancy else None

    @property
    def survey_date(self) -> date | None:
        return self.occupancy.as_of if self.occupancy else None

    @property
    def occupancy_basis(self) -> str | None:
        return self.occupancy.basis if self.occupancy else None

    @property
    def occupancy_data_status(self) -> str | None:
        """How far the vacancy figures can be trusted: a reported site may carry sample occupancy."""
        if self.occupancy is None:
            return None
        return self.occupancy.data_status or self.data_status

    @property
    def lon(self) -> float:
        return self.representative_point().x

    @property
    def lat(self) -> float:
        return self.representative_point().y

    def representative_point(self):
        g = self.geometry
        return g if g.geom_type == "Point" else g.representative_point()


@dataclass(frozen=True)
class District:
    adcode: str
    name: str
    city: str
    level: str  # "city" or "district"
    geometry: BaseGeometry
    source: str | None = None
