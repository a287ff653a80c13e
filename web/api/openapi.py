"""The OpenAPI 3.0 document at /api, generated from the same parameter tables the
views use (web.api.params, sites.query.PARAMS, sites.schema.FIELDS), so the
document cannot drift from what the server accepts."""

from __future__ import annotations

from sites import vacancy
from sites.model import STATUSES, KINDS, HERITAGE_GRADES, DATA_STATUSES
from sites.query import PARAMS as FILTER_PARAMS
from sites.schema import BY_NAME, FIELDS

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
            {"description": "Feature (a site's JSON carries its ETag, which a write's If-Match names)",
             "headers": {"ETag": {**ETAG, "required": False}},
             "content": {"application/geo+json": {"schema": {"type": "object"}},
                         "text/html": {"schema": {"type": "string"}}}}, (400, 404)),
        "/vacancy/summary": _get("Sites, idle area and vacancy rate by city and district", "getVacancySummary",
                                 summary_parameters(), _ok("Summary rows", csv=True)),
        "/vacancy/candidates": _get(
            "Idle buildings ranked for incubation, with the reasons", "getIncubationCandidates",
            [*summary_parameters(), COMMON["limit"]], _ok(
                f"Ranked candidates (min_idle_area defaults to {vacancy.DEFAULT_MIN_IDLE_M2:g} m² here)", csv=True)),
    }
    paths["/collections/{collectionId}/items"].update(write_items_operations())
    paths["/collections/{collectionId}/items/{featureId}"].update(write_item_operations(fid))
    return {
        "openapi": "3.0.3",
        "info": {"title": "城市更新园区载体图谱 API", "version": "1.0.0",
                 "description": "OGC API – Features (Part 1 core, Part 3 CQL2 filtering, Part 4 create, replace, "
                                "update and delete-as-retire with bearer tokens and If-Match) over the urban-renewal "
                                "site inventory, plus vacancy summaries and incubation candidates.",
                 "license": {"name": "see the project README"}},
        "servers": [{"url": base or "/"}],
        "paths": paths,
        "components": {"securitySchemes": {"bearerAuth": BEARER}, "schemas": {
            "siteFeature": site_feature_schema(),
            "siteGeometry": {"type": "object", "required": ["type", "coordinates"], "description": "lon/lat WGS-84",
                             "properties": {"type": {"type": "string", "enum": ["Point", "Polygon", "MultiPolygon"]},
                                            "coordinates": {"type": "array"}}},
            "siteMergePatch": merge_patch_schema(),
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


# --- writes (web/api/writes.py): OGC API – Features Part 4
BEARER = {"type": "http", "scheme": "bearer",
          "description": "An API token (python -m sites users token NAME), sent as 'Authorization: Bearer <token>'. "
                         "Writes need an editor (their cities/districts only) or an admin; the session cookie of "
                         "the web pages is never accepted for API writes."}
ETAG = {"description": 'The site\'s version as a strong entity tag, "v<version>" (e.g. "v3"); every write of the '
                       "site's record bumps it",
        "required": True, "schema": {"type": "string", "pattern": '^"v[0-9]+"$'}}
IF_MATCH = {"name": "If-Match", "in": "header", "required": True,
            "description": 'The ETag of the version you edited (from GET or the previous write), e.g. "v3". '
                           "Missing: 428; another version: 412 and nothing is written. '*' is refused with 428: "
                           "it would overwrite changes made since you read the site (a lost update).",
            "schema": {"type": "string", "minLength": 1}}
_WRITE_ERRORS = {
    400: "The body is not JSON, not a Feature, or names an unknown property, a value of the wrong type, an invalid "
         "geometry or breaks a rule of the inventory: the message names the field",
    401: "No bearer token, or an unknown or revoked one (every write without a token gets this)",
    403: "The token's user is a viewer, or an editor outside their cities/districts (before or after the change)",
    404: "No such site, or a collection other than sites",
    409: "A site with this id exists already (retired ones too: ids are never reused)",
    412: "If-Match names another version than the current one (someone else saved meanwhile): nothing was written",
    413: "The body is larger than UPLOAD_MAX_MB",
    415: "Wrong Content-Type",
    428: "No If-Match, or If-Match: *",
}


def _error(code: int) -> dict:
    out = {**EXCEPTION, "description": _WRITE_ERRORS[code]}
    if code == 401:
        out["headers"] = {"WWW-Authenticate": {"description": "Bearer (with error=invalid_token for a bad token)",
                                               "required": True, "schema": {"type": "string", "pattern": "^Bearer"}}}
    return out


def _write_op(summary, op_id, description, parameters, ok, errors, body=None):
    op = {"summary": summary, "operationId": op_id, "description": description, "parameters": parameters,
          "security": [{"bearerAuth": []}], "responses": {**ok, **{str(c): _error(c) for c in errors}}}
    if body:
        op["requestBody"] = {"required": True, "content": body}
    return op


def write_items_operations() -> dict:
    cid = {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string", "enum": ["sites"]}}
    feature = {"schema": {"$ref": "#/components/schemas/siteFeature"}}
    created = {"201": {"description": "Created: the site as stored, its Location and its ETag",
                       "headers": {"Location": {"description": "The new site's URL", "required": True,
                                                "schema": {"type": "string"}}, "ETag": ETAG},
                       "content": {"application/geo+json": {"schema": {"type": "object"}}}}}
    return {"post": _write_op(
        "Add a site", "createFeature",
        "A GeoJSON Feature in CRS84 (lon/lat WGS-84): its id (or properties.id) is the new site's id. "
        "first_added and last_updated default to today. Audited as a create through the api channel.",
        [cid], created, (400, 401, 403, 404, 409, 413, 415),
        {"application/geo+json": feature, "application/json": feature})}


def write_item_operations(fid: dict) -> dict:
    cid = {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string", "enum": ["sites"]}}
    feature = {"schema": {"$ref": "#/components/schemas/siteFeature"}}
    changed = {"200": {"description": "The site as stored now, with its new ETag", "headers": {"ETag": ETAG},
                       "content": {"application/geo+json": {"schema": {"type": "object"}}}}}
    errors = (400, 401, 403, 404, 412, 413, 415, 428)
    return {
        "put": _write_op(
            "Replace a site", "replaceFeature",
            "Every writable property comes from the body; a missing optional one becomes null (except fields "
            "confidential to you, which keep their values, first_added, which is kept, and last_updated, which "
            "becomes today when anything changed unless the body gives another date). Read-only properties "
            "(derived values, version, lon, lat) are "
            "ignored, so a feature read with GET can be edited and sent back. Needs If-Match.",
            [cid, fid, IF_MATCH], changed, errors, {"application/geo+json": feature, "application/json": feature}),
        "patch": _write_op(
            "Change some properties of a site", "updateFeature",
            "A JSON merge patch (RFC 7396) of the feature: the properties to change (null removes one) and "
            "optionally a new geometry. Read-only properties are refused. Needs If-Match.",
            [cid, fid, IF_MATCH], changed, errors,
            {"application/merge-patch+json": {"schema": {"$ref": "#/components/schemas/siteMergePatch"}}}),
        "delete": _write_op(
            "Retire a site (it is never deleted)", "deleteFeature",
            "Sites are never deleted: DELETE sets the status to retired. The site stays readable here, in its "
            "history and in exports on request; GET of the collection leaves it out unless include_retired. "
            "Retiring a retired site changes nothing. Needs If-Match.",
            [cid, fid, IF_MATCH], {"204": {"description": "Retired", "headers": {"ETag": ETAG}}},
            (400, 401, 403, 404, 412, 428)),
    }


_OPENAPI_TYPES = {"string": {"type": "string"}, "enum": {"type": "string"}, "integer": {"type": "integer"},
                  "number": {"type": "number"}, "boolean": {"type": "boolean"},
                  "date": {"type": "string", "format": "date"}, "list": {"type": "array", "items": {"type": "string"}}}


def _property_schemas(read_only: bool) -> dict:
    out = {}
    for f in FIELDS:
        if (f.derived or f.name == "version") and not read_only:
            continue
        unit = f" ({f.unit})" if f.unit else ""
        spec = dict(_OPENAPI_TYPES[f.type], description=f"{f.label_zh} {f.label_en}{unit}")
        if f.enum:
            spec["enum"] = list(f.enum) + ([] if f.required else [None])
        if not f.required:
            spec["nullable"] = True
        if f.derived or f.name == "version":
            spec["readOnly"] = True
        out[f.name] = spec
    if read_only:
        out["lon"] = {"type": "number", "readOnly": True}
        out["lat"] = {"type": "number", "readOnly": True}
    return out


def site_feature_schema() -> dict:
    """A site to write: a GeoJSON Feature with the stored properties (no others)."""
    required = [f.name for f in FIELDS if f.required and f.name != "id"]
    return {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 64},
        "geometry": {"$ref": "#/components/schemas/siteGeometry"},
        "properties": {"type": "object", "required": required, "additionalProperties": False,
                       "properties": _property_schemas(read_only=True)}}}


def merge_patch_schema() -> dict:
    return {"type": "object", "description": "RFC 7396: members to change; null removes an optional property",
            "properties": {
                "geometry": {"$ref": "#/components/schemas/siteGeometry"},
                "properties": {"type": "object", "additionalProperties": False,
                               "properties": _property_schemas(read_only=False)}}}


def parameter_names(path: str) -> list[str]:
    """For tests: the query parameters the document declares for a path."""
    doc = openapi_document("")
    return [p["name"] for p in doc["paths"][path]["get"]["parameters"] if p["in"] == "query"]


__all__ = ["openapi_document", "parameter_names", "BY_NAME"]
