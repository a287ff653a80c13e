"""城市更新园区载体图谱 — the inventory of urban-renewal sites.

The public API: the model (Site, Survey, Unit, District), one filter semantics
(build_query, Query), stores behind one contract (open_store), and the errors.
This package never imports Flask or folium.
"""

from .errors import Conflict, FilterError, NotFound, SitesError, StoreError, ValidationError
from .model import District, Occupancy, Site, Survey, Unit, current_occupancy
from .query import Query, build_query
from .stores import SiteStore, open_store

__all__ = ["Conflict", "FilterError", "NotFound", "SitesError", "StoreError", "ValidationError", "District",
           "Occupancy", "Site", "Survey", "Unit", "current_occupancy", "Query", "build_query", "SiteStore",
           "open_store"]
