"""Map builders: pure functions that return a ``folium.Map``.

folium builds the shell — basemaps, controls, the layer switcher — and nothing
else: the sites themselves are loaded by static/js/sitemap.js from the query API
for the current view and filters, so the page stays small whatever the size of
the inventory.  Every asset is served by the app (web.assets.localize).
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
import xyzservices.providers as xyz
from folium.plugins import Draw, Fullscreen, MeasureControl

from .assets import localize


@dataclass(frozen=True)
class Basemap:
    key: str
    name_zh: str
    name_en: str
    url: str
    attribution: str
    crs: str = "wgs84"  # "gcj02": our WGS-84 data is shifted to GCJ-02 while this basemap is shown
    subdomains: str = "abc"
    max_zoom: int = 19

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


def basemaps(settings: dict) -> list[Basemap]:
    """The basemaps offered, in the configured order (the first is shown first)."""
    known = {
        "osm": Basemap("osm", "OpenStreetMap", "OpenStreetMap", xyz.OpenStreetMap.Mapnik.url,
                       xyz.OpenStreetMap.Mapnik.html_attribution),
        "gaode": Basemap("gaode", "高德地图", "Gaode (AMap)", xyz.Gaode.Normal.url.replace("webrd01", "webrd0{s}"),
                         xyz.Gaode.Normal.html_attribution, crs="gcj02", subdomains="1234"),
        "gaode_satellite": Basemap("gaode_satellite", "高德卫星", "Gaode satellite",
                                   xyz.Gaode.Satellite.url.replace("webst01", "webst0{s}"),
                                   xyz.Gaode.Satellite.html_attribution, crs="gcj02", subdomains="1234"),
    }
    if settings.get("TIANDITU_KEY"):
        known["tianditu"] = Basemap(
            "tianditu", "天地图", "Tianditu",
            "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
            "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
            f"&tk={settings['TIANDITU_KEY']}",
            '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a> (CGCS2000 ≈ WGS-84)',
            subdomains="01234567", max_zoom=18)
    if settings.get("TILE_URL"):
        known["custom"] = Basemap("custom", settings.get("TILE_NAME") or "内网底图", settings.get("TILE_NAME") or
                                  "Intranet basemap", settings["TILE_URL"],
                                  settings.get("TILE_ATTRIBUTION") or settings.get("TILE_NAME") or "内网底图 intranet basemap",
                                  crs=settings.get("TILE_CRS") or "wgs84", subdomains="abc")
    order = [k.strip() for k in (settings.get("BASEMAPS") or "").split(",") if k.strip()]
    chosen = [known[k] for k in order if k in known]
    for key in ("custom", "tianditu"):  # configured extras are always offered
        if key in known and known[key] not in chosen:
            chosen.insert(0 if key == "custom" else len(chosen), known[key])
    return chosen or [known["osm"]]


@dataclass
class SitesMap:
    """A built map and the JavaScript names our script needs to reach into it."""

    map: folium.Map
    layer_control: str
    basemap_layers: dict[str, str]  # JS name of each tile layer -> basemap key


def build_sites_map(settings: dict, lang: str, center: tuple[float, float], zoom: int = 12,
                    draw: bool = True) -> SitesMap:
    """The planners' map shell: basemaps, fullscreen, measure, draw-to-filter, layer switcher."""
    m = folium.Map(location=[center[1], center[0]], zoom_start=zoom, tiles=None, control_scale=True,
                   prefer_canvas=True, height="100%", width="100%")
    # our pages draw circle markers and their own controls: folium's jQuery, Bootstrap JS, awesome-markers
    # and Font Awesome would only block the page's start (set on this instance; folium's lists stay as they are)
    m.default_js = [js for js in m.default_js if js[0] == "leaflet"]
    m.default_css = [css for css in m.default_css if css[0] in ("leaflet_css", "bootstrap_css")]
    layers = {}
    for i, b in enumerate(basemaps(settings)):
        layer = folium.TileLayer(tiles=b.url, attr=b.attribution, name=b.name(lang), subdomains=b.subdomains,
                                 max_zoom=b.max_zoom, show=i == 0, overlay=False)
        layer.add_to(m)
        layers[layer.get_name()] = b.key
    zh = lang == "zh"
    Fullscreen(position="topleft", title="全屏" if zh else "Full screen",
               title_cancel="退出全屏" if zh else "Exit full screen").add_to(m)
    MeasureControl(position="topleft", primary_length_unit="meters", secondary_length_unit="kilometers",
                   primary_area_unit="sqmeters", secondary_area_unit="hectares").add_to(m)
    if draw:
        Draw(position="topleft", draw_options={"polyline": False, "marker": False, "circlemarker": False,
                                               "polygon": True, "rectangle": True, "circle": True},
             edit_options={"edit": False, "remove": False}, show_geometry_on_click=False).add_to(m)
    control = folium.LayerControl(position="topright", collapsed=True)
    control.add_to(m)
    localize(m)
    return SitesMap(m, control.get_name(), layers)


def build_site_minimap(settings: dict, lang: str, geometry, zoom: int = 16) -> SitesMap:
    """The small map of one site's page: the same basemaps, no drawing."""
    point = geometry if geometry.geom_type == "Point" else geometry.representative_point()
    built = build_sites_map(settings, lang, (point.x, point.y), zoom=zoom, draw=False)
    if geometry.geom_type != "Point":
        minx, miny, maxx, maxy = geometry.bounds
        built.map.fit_bounds([[miny, minx], [maxy, maxx]])
    return built


def map_parts(built: SitesMap) -> dict:
    """folium's header, body and script, for a Flask template to embed."""
    root = built.map.get_root()
    root.render()
    return {"map_header": root.header.render(), "map_html": root.html.render(),
            "map_script": root.script.render(), "map_name": built.map.get_name(),
            "layer_control": built.layer_control, "basemap_layers": built.basemap_layers}
