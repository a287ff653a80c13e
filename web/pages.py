"""The planners' pages: the map, a site, the benchmark comparison, the statistics, exports.
Each view parses, calls the domain, renders."""

from __future__ import annotations

import html
import tempfile
from pathlib import Path

from flask import Blueprint, after_this_request, current_app, render_template, request, send_file
from flask_babel import gettext as _

from sites import build_query, inventory, schema, vacancy
from sites.cities import CITIES, DEFAULT_CITY
from sites.errors import FilterError
from sites.query import PARAMS

from . import auth, current_store as store
from .i18n import language
from .maps import basemaps, build_site_minimap, build_sites_map, map_parts

bp = Blueprint("pages", __name__)
FILTER_NAMES = [p.name for p in PARAMS]
EXPORT_FORMATS = {"csv": ("text/csv", "csv"), "xlsx": (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "geojson": ("application/geo+json", "geojson")}


def _filters() -> dict:
    """The filter parameters of this request (page-only parameters such as lang or the view are left out)."""
    return {k: v for k, v in request.args.items() if k in FILTER_NAMES and v != ""}


def _query(**extra):
    s = store()
    return s, build_query({**_filters(), **extra}, district_geometry=s.district_geometry, hidden=auth.hidden())


def map_page():
    _query()  # a bad filter in the URL is a 400 page naming it, before anything is drawn
    lang = language()
    city = CITIES.get(request.args.get("city", "").split(",")[0]) or CITIES[DEFAULT_CITY]
    built = build_sites_map(current_app.config, lang, city.center, zoom=12)
    parts = map_parts(built)
    crs_of = {b.key: b.crs for b in basemaps(current_app.config)}
    config = {
        "map": parts["map_name"], "layerControl": parts["layer_control"],
        "basemaps": {name: crs_of[key] for name, key in parts["basemap_layers"].items()},
        "cities": [{"name": c.name_zh, "label": c.name_zh if lang == "zh" else c.name_en, "center": c.center,
                    "bbox": c.bbox} for c in CITIES.values()],
        "maxFeatures": current_app.config["MAP_MAX_FEATURES"], "lang": lang,
        "staleAfterDays": current_app.config["STALE_AFTER_DAYS"],
        "filterNames": FILTER_NAMES, "candidates": vacancy.CANDIDATE_PARAMS,
        "labels": {f.name: schema.label(f, lang) for f in schema.FIELDS},
        "enums": {f.name: {k: v[0 if lang == "zh" else 1] for k, v in f.enum.items()}
                  for f in schema.FIELDS if f.enum},
    }
    return render_template("map.html", config=config, city=city, cities=CITIES.values(), **parts)


@bp.get("/sites/<site_id>")
def site_page(site_id):
    s = store()
    hidden = auth.hidden()
    site = schema.redact(s.get(site_id), hidden)
    lang = language()
    built = build_site_minimap(current_app.config, lang, site.geometry)
    import folium
    popup_name = site.name_zh if lang == "zh" else (site.name_en or site.name_zh)
    # folium puts tooltip text unescaped into a JS template literal: escape HTML and the literal's own syntax
    popup_name = html.escape(popup_name).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")
    if site.geometry.geom_type == "Point":
        folium.CircleMarker([site.geometry.y, site.geometry.x], radius=9, color="#b2182b", fill=True,
                            tooltip=popup_name).add_to(built.map)
    else:
        folium.GeoJson(site.geometry.__geo_interface__, tooltip=popup_name,
                       style_function=lambda _: {"color": "#b2182b", "weight": 2, "fillOpacity": 0.1}).add_to(built.map)
    from .assets import localize
    localize(built.map)
    surveys, units = s.surveys(site.id), schema.redact_units(s.units(site.id), hidden)
    floors: dict[str, list] = {}
    for u in units:
        floors.setdefault(u.floor, []).append(u)
    history = [{"date": v.survey_date.isoformat(), "leasable": v.leasable_area_m2, "occupied": v.occupied_area_m2,
                "tenants": v.tenant_count, "data_status": v.data_status} for v in surveys]
    props = {k: v for k, v in schema.site_properties(site).items() if k not in hidden}
    fields = tuple(f for f in schema.FIELDS if f.name not in hidden)
    return render_template("site.html", site=site, props=props, fields=fields, hidden=hidden,
                           surveys=surveys, floors=floors, history=history, unit_statuses=schema.UNIT_FIELDS[4].enum,
                           label=lambda f: schema.label(f, lang),
                           enum_label=lambda f, v: schema.enum_label(f, v, lang), **map_parts(built))


def _rows(sites):
    """Summary rows with tenant totals, for the comparison and the statistics."""
    rows = inventory.summarize(sites)
    tenants: dict[tuple, int] = {}
    for site in sites:
        for key in ((site.city, None), (site.city, site.district or "—")):
            tenants[key] = tenants.get(key, 0) + (site.tenant_count or 0)
    return [{**r.as_dict(), "tenants": tenants.get((r.city, r.district), 0)} for r in rows]


@bp.get("/compare")
def compare():
    s, q = _query()
    rows = _rows(s.query(q.page(None, 0)).sites)
    cities = [r for r in rows if r["district"] is None]
    qingdao = [r for r in rows if r["city"] == DEFAULT_CITY and r["district"] is not None]
    return render_template("compare.html", cities=cities, qingdao=qingdao, home=DEFAULT_CITY,
                           city_names={c.name_zh: (c.name_zh if language() == "zh" else c.name_en) for c in CITIES.values()})


@bp.get("/stats")
def stats():
    """Sites, idle area and vacancy by city and district, and how current their data is: sites with a
    survey date, the median age of the latest survey, and how many are out of date (older than
    STALE_AFTER_DAYS, or never surveyed)."""
    from datetime import date
    from statistics import median
    s, q = _query()
    sites = s.query(q.page(None, 0)).sites
    rows, limit, today = _rows(sites), current_app.config["STALE_AFTER_DAYS"], date.today()
    ages: dict[tuple, list] = {}
    for site in sites:
        age = (today - site.survey_date).days if site.survey_date else None
        for key in ((site.city, None), (site.city, site.district or "—")):
            ages.setdefault(key, []).append(age)
    for r in rows:
        group = ages.get((r["city"], r["district"]), [])
        known = [a for a in group if a is not None]
        r.update(dated=len(known), median_age_days=round(median(known)) if known else None,
                 stale=sum(a > limit for a in known), never_surveyed=len(group) - len(known))
    return render_template("stats.html", rows=rows, stale_after_days=limit)


@bp.get("/export")
def export():
    fmt = request.args.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        raise FilterError(f"{fmt!r} is not one of {', '.join(EXPORT_FORMATS)}", parameter="format")
    from sites import exporting
    s, q = _query()
    media, suffix = EXPORT_FORMATS[fmt]
    folder = tempfile.mkdtemp(prefix="sites-export-")
    path = Path(folder) / f"sites.{suffix}"
    exporting.export(s, q.page(None, 0), path, fmt=fmt, lang=language(), hidden=auth.hidden())

    @after_this_request
    def cleanup(resp):
        resp.call_on_close(lambda: (path.unlink(missing_ok=True), Path(folder).rmdir()))
        return resp

    return send_file(path, mimetype=media, as_attachment=True, download_name=f"sites.{suffix}")


__all__ = ["bp", "map_page", "_"]
