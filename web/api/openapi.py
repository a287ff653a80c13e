"""The OpenAPI 3.0 document at /api, generated from the same parameter tables the
views use (web.api.params, sites.query.PARAMS, sites.schema.FIELDS), so the
document cannot drift from what the server accepts."""

from __future__ import annotations

from sites import vacancy
from sites.model import STATUSES, KINDS, HERITAGE_GRADES, DATA_STATUSES
from sites.query import PARAMS as FILTER_PARAMS
from sites.schema import BY_NAME

from . import params

_FILTER_HELP = {p.name: p for p in FILTER_PARAMS}


def _p(name, description, schema, style=None, explode=None):
    out = {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
    if style:
        out["style"], out["explode"] = style, explode
    return out


def _enum_list(enum):
    values = "|".join(enum)  # empty (no filter), or values and their Chinese labels are accepted: document the values
    return {"type": "string", "pattern": f"^$|^({values})(,({values}))*$"}


STRING = {"type": "string"}  # an empty value means "no such filter" (HTML forms send empty fields)
_NAMES = "|".join(BY_NAME)
_SORTABLE = "|".join(name for name, f in BY_NAME.items() if f.sortable)
_DAY = "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9:]+)?)?"
NUMBER_TEXT = {"type": "number"}
COMMON = {
    "f": _p("f", "Output format (default: from the Accept header, else json)",
            {"type": "string", "enum": list(params.FORMATS)}),
    "bbox": _p("bbox", "minlon,minlat,maxlon,maxlat in CRS84 (6 numbers for 3-D are accepted; heights ignored)",
               {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}, "form", False),
    "bbox-crs": _p("bbox-crs", "CRS of bbox; only CRS84", {"type": "string", "enum": [params.CRS84]}),
    "crs": _p("crs", "CRS of the response geometries; only CRS84", {"type": "string", "enum": [params.CRS84]}),
    "limit": _p("limit", f"Page size (default {params.DEFAULT_LIMIT}, at most {params.MAX_LIMIT})",
                {"type": "integer", "minimum": 1, "maximum": params.MAX_LIMIT, "default": params.DEFAULT_LIMIT}),
    "offset": _p("offset", "Skip this many features", {"type": "integer", "minimum": 0, "default": 0}),
    "datetime": _p("datetime", "last_updated on a day or in an interval (RFC 3339: 2024-01-01, "
                               "2024-01-01/2024-12-31, ../2024-12-31, 2024-01-01/..)",
                   {"type": "string", "pattern": f"^$|^({_DAY}|{_DAY}/{_DAY}|\\.\\./{_DAY}|{_DAY}/\\.\\.)$"}),
    "sortby": _p("sortby", "Comma-separated properties, - for descending (e.g. -vacancy_rate,name_zh)",
                 {"type": "string", "pattern": f"^$|^[+-]?({_SORTABLE})(,[+-]?({_SORTABLE}))*$"}),
    "properties": _p("properties", "Only these properties (comma-separated)",
                     {"type": "string", "pattern": f"^$|^({_NAMES})(,({_NAMES}))*$"}),
    "filter": _p("filter", "CQL2 filter over the queryables", STRING),
    "filter-lang": _p("filter-lang", "Language of filter", {"type": "string",
                                                            "enum": ["cql2-text", "cql2-json", "cql-text"],
                                                            "default": "cql2-text"}),
    "filter-crs": _p("filter-crs", "CRS of geometry literals in filter; only CRS84",
                     {"type": "string", "enum": [params.CRS84]}),
}
_ENUMS = {"status": STATUSES, "kind": KINDS, "heritage_grade": HERITAGE_GRADES, "data_status": DATA_STATUSES}


def _filter_param(name):
    p = _FILTER_HELP[name]
    if name in _ENUMS:
        schema = _enum_list(_ENUMS[name])
    elif p.kind == "float":
        schema = {"type": "number", "minimum": 0} | ({"maximum": 1} if name.startswith("vacancy") else {})
    elif p.kind == "bool":
        schema = {"type": "boolean"}
    else:
        schema = STRING
    return _p(name, f"{p.help_en} ({p.help_zh})", schema)


def items_parameters():
    return ([COMMON[n] for n in params.STANDARD] + [_filter_param(n) for n in params.EQUALITY]
            + [_filter_param(n) for n in params.EXTENSION])


def summary_parameters():
    return [COMMON["f"], COMMON["bbox"], COMMON["filter"], COMMON["filter-lang"]] + \
        [_filter_param(n) for n in params.EQUALITY + params.EXTENSION if n not in ("sortby", "limit", "offset")]


EXCEPTION = {"description": "Error (OGC exception, RFC 9457 problem; a page with f=html)",
             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/exception"}},
                         "text/html": {"schema": {"type": "string"}}}}


def _ok(description, media="application/json", schema=None, csv=False):
    content = {media: {"schema": schema or {"type": "object"}}, "text/html": {"schema": {"type": "string"}}}
    if csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {"description": description, "content": content}


def _get(summary, op_id, parameters, ok, errors=(400,)):
    responses = {"200": ok}
    for code in errors:
        responses[str(code)] = EXCEPTION
    return {"get": {"summary": summary, "operationId": op_id, "parameters": parameters, "responses": responses}}


def openapi_document(base: str) -> dict:
    f_only = [COMMON["f"]]
    cid = {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string",
                                                                            "enum": ["sites", "districts"]}}
    fid = {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
    fc = {"$ref": "#/components/schemas/featureCollection"}
    paths = {
        "/": _get("Landing page", "getLandingPage", f_only, _ok("Links to the API")),
        "/conformance": _get("Conformance classes", "getConformance", f_only, _ok("conformsTo")),
        "/api": _get("This document", "getOpenAPI", f_only,
                     _ok("OpenAPI 3.0", "application/vnd.oai.openapi+json;version=3.0")),
        "/collections": _get("Collections", "getCollections", f_only, _ok("Collections")),
        "/collections/{collectionId}": _get("One collection", "describeCollection", [cid, *f_only],
                                            _ok("Collection"), (400, 404)),
        "/collections/{collectionId}/queryables": _get(
            "Queryable properties (JSON Schema)", "getQueryables", [cid, *f_only],
            _ok("Queryables", "application/schema+json"), (400, 404)),
        "/collections/{collectionId}/schema": _get(
            "The schema of the features (JSON Schema)", "getSchema", [cid, *f_only],
            _ok("Schema", "application/schema+json"), (400, 404)),
        "/collections/{collectionId}/items": _get(
            "Features, filtered (districts accept only f, bbox, limit, offset, city)", "getFeatures",
            [cid, *items_parameters()], {"description": "Features", "content": {
                "application/geo+json": {"schema": fc}, "text/html": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}}}}, (400, 404)),
        "/collections/{collectionId}/items/{featureId}": _get(
            "One feature", "getFeature", [cid, fid, COMMON["f"], COMMON["crs"], COMMON["properties"]],
            {"description": "Feature", "content": {"application/geo+json": {"schema": {"type": "object"}},
                                                   "text/html": {"schema": {"type": "string"}}}}, (400, 404)),
        "/vacancy/summary": _get("Sites, idle area and vacancy rate by city and district", "getVacancySummary",
                                 summary_parameters(), _ok("Summary rows", csv=True)),
        "/vacancy/candidates": _get(
            "Idle buildings ranked for incubation, with the reasons", "getIncubationCandidates",
            [*summary_parameters(), COMMON["limit"]], _ok(
                f"Ranked candidates (min_idle_area defaults to {vacancy.DEFAULT_MIN_IDLE_M2:g} m² here)", csv=True)),
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "城市更新园区载体图谱 API", "version": "1.0.0",
                 "description": "OGC API – Features (Part 1 core, Part 3 CQL2 filtering) over the urban-renewal "
                                "site inventory, plus vacancy summaries and incubation candidates.",
                 "license": {"name": "see the project README"}},
        "servers": [{"url": base or "/"}],
        "paths": paths,
        "components": {"schemas": {
            "exception": {"type": "object", "required": ["code", "description"], "properties": {
                "code": {"type": "string"}, "description": {"type": "string"}, "type": {"type": "string"},
                "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}},
            "featureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"type": "object"}},
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer", "minimum": 0},
                "links": {"type": "array", "items": {"type": "object"}}}},
        }},
    }


def parameter_names(path: str) -> list[str]:
    """For tests: the query parameters the document declares for a path."""
    doc = openapi_document("")
    return [p["name"] for p in doc["paths"][path]["get"]["parameters"] if p["in"] == "query"]


__all__ = ["openapi_document", "parameter_names", "BY_NAME"]
