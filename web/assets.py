"""Every script and stylesheet the pages load, served by the app itself.

The libraries are installed from the npm registry with exact versions
(package.json, package-lock.json; ``make`` runs ``npm ci``) and served from
node_modules under ``/vendor/``.  folium's elements name CDN URLs in their
``default_js``/``default_css``; ``localize`` replaces them per *instance* (never
by mutating folium's classes or calling ``add_js_link``), and fails loudly on an
asset it does not know, so a folium upgrade cannot silently bring a CDN back.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"

#: name -> path under node_modules
VENDOR = {
    "leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    "jquery.js": "jquery/dist/jquery.min.js",
    "bootstrap.js": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "bootstrap.css": "bootstrap/dist/css/bootstrap.min.css",
    "fontawesome.css": "@fortawesome/fontawesome-free/css/all.min.css",
    "awesome-markers.js": "leaflet.awesome-markers/dist/leaflet.awesome-markers.min.js",
    "awesome-markers.css": "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    "markercluster.js": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markercluster.css": "leaflet.markercluster/dist/MarkerCluster.css",
    "markercluster-default.css": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "draw.js": "leaflet-draw/dist/leaflet.draw.js",
    "draw.css": "leaflet-draw/dist/leaflet.draw.css",
    "heat.js": "leaflet.heat/dist/leaflet-heat.js",
    "fullscreen.js": "leaflet.fullscreen/Control.FullScreen.js",
    "fullscreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "icon-fullscreen.svg": "leaflet.fullscreen/icon-fullscreen.svg",
    "measure.js": "leaflet-measure/dist/leaflet-measure.js",
    "measure.css": "leaflet-measure/dist/leaflet-measure.css",
    "chart.js": "chart.js/dist/chart.umd.min.js",
}
#: folium's asset names -> ours (None: not needed by our pages, dropped)
FOLIUM = {
    "leaflet": "leaflet.js", "jquery": "jquery.js", "bootstrap": "bootstrap.js",
    "awesome_markers": "awesome-markers.js", "leaflet_css": "leaflet.css", "bootstrap_css": "bootstrap.css",
    "glyphicons_css": None, "awesome_markers_font_css": "fontawesome.css",
    "awesome_markers_css": "awesome-markers.css", "awesome_rotate_css": None,
    "markerclusterjs": "markercluster.js", "markerclustercss": "markercluster.css",
    "markerclusterdefaultcss": "markercluster-default.css",
    "leaflet_draw_js": "draw.js", "leaflet_draw_css": "draw.css",
    "leaflet-heat.js": "heat.js",
    "Control.Fullscreen.js": "fullscreen.js", "Control.FullScreen.css": "fullscreen.css",
    "leaflet_measure_js": "measure.js", "leaflet_measure_css": "measure.css",
}

bp = Blueprint("assets", __name__)


def vendor_url(name: str) -> str:
    if name not in VENDOR:
        raise KeyError(f"unknown asset {name!r}")
    return f"/vendor/{name}"


@bp.get("/vendor/<name>")
def vendor(name):
    path = VENDOR.get(name)
    if path is None:
        abort(404)
    full = NODE_MODULES / path
    if not full.exists():
        abort(404, f"{path} is not installed: run `make` (npm ci)")
    return send_from_directory(full.parent, full.name, max_age=86400)


@bp.get("/vendor/images/<name>")
def vendor_image(name):
    """Images that the stylesheets refer to relatively (leaflet, draw, awesome markers)."""
    for folder in ("leaflet/dist/images", "leaflet-draw/dist/images", "leaflet.awesome-markers/dist/images"):
        if (NODE_MODULES / folder / name).exists():
            return send_from_directory(NODE_MODULES / folder, name, max_age=86400)
    abort(404)


@bp.get("/vendor/assets/<name>")
def vendor_measure_asset(name):
    """leaflet-measure's stylesheet loads assets/ relative to /vendor/."""
    return send_from_directory(NODE_MODULES / "leaflet-measure/dist/assets", name, max_age=86400)


@bp.get("/webfonts/<name>")
def webfonts(name):
    """fontawesome's stylesheet loads ../webfonts/ relative to /vendor/."""
    return send_from_directory(NODE_MODULES / "@fortawesome/fontawesome-free/webfonts", name, max_age=86400)


def localize(element) -> None:
    """Point every asset of a folium element tree at /vendor/, per instance."""
    for child in _walk(element):
        for attr in ("default_js", "default_css"):
            assets = getattr(child, attr, None)
            if not assets:
                continue
            local = []
            for name, url in assets:
                if name not in FOLIUM:
                    raise KeyError(f"{type(child).__name__} loads {name} ({url}); add it to web.assets.FOLIUM")
                if FOLIUM[name] is not None:
                    local.append((name, vendor_url(FOLIUM[name])))
            setattr(child, attr, local)  # an instance attribute: folium's class lists stay as they were


def _walk(element):
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)
