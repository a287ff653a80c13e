"""Vacancy rules: which idle buildings could host a startup incubator, and why.

A *candidate* is a building or complex (not a whole area), not retired or
planned, with at least ``min_idle_area_m2`` of idle floor space in its current
occupancy.  Candidates are ranked by a score out of 100, the sum of the parts
below; each part is reported as a reason so a planner can check the ranking.

- idle area: up to 40 points, on a log scale from the minimum (at least 100 m²) to 20,000 m²
  (an incubator needs room for dozens of small teams);
- vacancy rate: up to 20 points (a mostly empty building can be let as a whole);
- vacancy duration: up to 20 points, 4 a year since ``vacant_since`` (long
  vacancy is the waste the bureau wants to end, and owners are more willing);
- heritage constraints: national or provincial monuments −15 (alterations need
  approval at that level), municipal monuments −8, historic buildings −4;
  industrial heritage +5 (open floor plates that suit shared workspaces);
- data quality: −5 if the occupancy is older than two years, −5 if the location
  is only known to the district, −3 for sample data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from .model import Site

CANDIDATE_KINDS = ("building", "complex")
CANDIDATE_STATUSES = ("idle", "partly_idle", "renovating", "operating")
DEFAULT_MIN_IDLE_M2 = 500.0
IDLE_SCALE_M2 = (100.0, 20_000.0)  # the idle-area points grow on a log scale between these
_HERITAGE = {"national": -15, "provincial": -15, "municipal": -8, "historic_building": -4,
             "industrial_heritage": 5}


@dataclass(frozen=True)
class Reason:
    code: str
    points: float
    zh: str
    en: str

    def as_dict(self) -> dict:
        return {"code": self.code, "points": round(self.points, 1), "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Candidate:
    site: Site
    score: float
    reasons: tuple[Reason, ...]


def is_candidate(site: Site, min_idle_area_m2: float = DEFAULT_MIN_IDLE_M2) -> bool:
    idle = site.idle_area_m2
    return (site.kind in CANDIDATE_KINDS and site.status in CANDIDATE_STATUSES
            and idle is not None and idle >= min_idle_area_m2)


def score(site: Site, today: date, min_idle_area_m2: float = DEFAULT_MIN_IDLE_M2) -> Candidate:
    reasons = []
    idle = site.idle_area_m2 or 0.0
    base = max(min_idle_area_m2, IDLE_SCALE_M2[0])  # the scale starts at the threshold, never below 100 m²
    span = math.log(IDLE_SCALE_M2[1] / base) if base < IDLE_SCALE_M2[1] else 1.0
    pts = 40 * min(1.0, max(0.0, math.log(max(idle, base) / base) / span))
    reasons.append(Reason("idle_area", pts, f"闲置面积 {idle:,.0f} ㎡", f"{idle:,.0f} m² idle"))
    rate = site.vacancy_rate or 0.0
    reasons.append(Reason("vacancy_rate", 20 * rate, f"空置率 {rate:.0%}", f"{rate:.0%} vacant"))
    if site.vacant_since:
        years = max(0.0, (today - site.vacant_since).days / 365.25)
        reasons.append(Reason("vacancy_duration", min(20.0, 4 * years), f"空置约 {years:.1f} 年",
                              f"vacant for about {years:.1f} years"))
    if site.heritage_grade in _HERITAGE:
        pts = _HERITAGE[site.heritage_grade]
        reasons.append(Reason("heritage", pts, "工业遗产，大空间适合共享办公" if pts > 0 else "文保/历史建筑，改造需审批",
                              "industrial heritage: open floors suit shared offices" if pts > 0
                              else "protected building: alterations need approval"))
    if site.survey_date is None or (today - site.survey_date).days > 730:
        reasons.append(Reason("stale_occupancy", -5, "入驻数据超过两年", "occupancy data over two years old"))
    if site.location_precision == "district":
        reasons.append(Reason("approximate_location", -5, "位置仅精确到区县", "location known only to the district"))
    if site.data_status == "sample":
        reasons.append(Reason("sample_data", -3, "示例数据，需核实", "sample data, to be verified"))
    total = max(0.0, min(100.0, sum(r.points for r in reasons)))
    return Candidate(site, round(total, 1), tuple(reasons))


def rank(sites, today: date | None = None, min_idle_area_m2: float = DEFAULT_MIN_IDLE_M2) -> list[Candidate]:
    """The candidates among sites, best first (ties by idle area, then id)."""
    today = today or date.today()
    found = [score(s, today, min_idle_area_m2) for s in sites if is_candidate(s, min_idle_area_m2)]
    return sorted(found, key=lambda c: (-c.score, -(c.site.idle_area_m2 or 0), c.site.id))


#: the map's "incubation candidates" preset, as filter parameters (prefilter; rank() decides)
CANDIDATE_PARAMS = {"kind": ",".join(CANDIDATE_KINDS), "status": ",".join(CANDIDATE_STATUSES),
                    "min_idle_area": str(DEFAULT_MIN_IDLE_M2)}
