"""The web app's settings: the domain's (sites.config.SETTINGS) plus its own,
loaded the same way (defaults, instance/config.json, SITES_* variables)."""

from __future__ import annotations

import secrets

from sites import config as sites_config
from sites.config import Setting

SETTINGS = sites_config.SETTINGS + (
    Setting("SECRET_KEY", None, "Signs session cookies; set SITES_SECRET_KEY in production "
            "(a random key is made per process otherwise)", secret=True),
    Setting("BASEMAPS", "osm,gaode,gaode_satellite",
            "Basemaps offered on the maps, first shown first: osm, gaode, gaode_satellite, tianditu, custom"),
    Setting("TIANDITU_KEY", "", "A Tianditu (天地图) browser key; when set, Tianditu is offered"),
    Setting("TILE_URL", "", "An intranet tile server, e.g. http://tiles.intranet/{z}/{x}/{y}.png; "
            "when set it is offered first"),
    Setting("TILE_NAME", "", "The name of the intranet basemap in the layer switcher"),
    Setting("TILE_ATTRIBUTION", "", "The attribution shown for the intranet basemap"),
    Setting("TILE_CRS", "wgs84", "wgs84 or gcj02: the coordinate system of the intranet tiles"),
    Setting("MAP_MAX_FEATURES", 2000, "At most this many sites are drawn for one view (the largest idle areas "
            "first); zoom in to see the rest", int),
    Setting("DEFAULT_LANGUAGE", "zh", "zh or en"),
)


def load(test_config: dict | None = None) -> dict:
    values = sites_config.load(SETTINGS)
    if values["SECRET_KEY"] is None:
        values["SECRET_KEY"] = secrets.token_hex(32)
    values.update(test_config or {})
    return values
