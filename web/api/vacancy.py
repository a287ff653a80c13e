"""Vacancy endpoints beyond the standard: summaries and incubation candidates.
They honour the same filters as the items endpoint."""

from __future__ import annotations

from flask import jsonify, make_response, render_template, request

from sites import build_query, inventory, schema, vacancy

from .. import auth
from . import bp, params, store
from .geojson import site_feature

SUMMARY_PARAMS = ("f", "bbox", "bbox-crs", "filter", "filter-lang", "filter-crs") + params.EQUALITY + tuple(
    n for n in params.EXTENSION if n not in ("sortby", "limit", "offset"))


def _query(extra_defaults=None):
    args = params.query_params(request.args)
    for key, value in (extra_defaults or {}).items():
        args.setdefault(key, value)
    s = store()
    return s, build_query(args, district_geometry=s.district_geometry, hidden=auth.hidden())


@bp.get("/vacancy/summary")
def summary():
    params.check_known(request.args, SUMMARY_PARAMS)
    fmt = params.output_format(request.args, request.headers.get("Accept", ""))
    s, q = _query()
    rows = [r.as_dict() for r in inventory.stats(s, q)]
    if fmt == "csv":
        header = ["city", "district", "sites", "surveyed", "leasable_area_m2", "idle_area_m2", "vacancy_rate"]
        lines = [",".join(header)] + [",".join("" if r[h] is None else str(r[h]) for h in header) for r in rows]
        resp = make_response("\ufeff" + "\n".join(lines) + "\n")
        resp.mimetype = "text/csv"
        return resp
    data = {"rows": rows, "note": "vacancy_rate = idle area / leasable area over the surveyed sites"}
    if fmt == "html":
        return render_template("api/summary.html", data=data)
    return jsonify(data)


@bp.get("/vacancy/candidates")
def candidates():
    params.check_known(request.args, SUMMARY_PARAMS + ("limit",))
    fmt = params.output_format(request.args, request.headers.get("Accept", ""))
    limit = params.limit(request.args)
    defaults = {k: v for k, v in vacancy.CANDIDATE_PARAMS.items() if k not in ("kind", "status")}
    s, q = _query(defaults)
    threshold = float(params.query_params(request.args).get("min_idle_area", vacancy.DEFAULT_MIN_IDLE_M2))
    ranked = vacancy.rank(s.query(q.page(None, 0)).sites, min_idle_area_m2=threshold)
    shown = schema.property_names(auth.hidden())
    rows = [{"rank": i + 1, "id": c.site.id, "name_zh": c.site.name_zh, "name_en": c.site.name_en,
             "city": c.site.city, "district": c.site.district, "score": c.score,
             "idle_area_m2": c.site.idle_area_m2, "vacancy_rate": c.site.vacancy_rate,
             "reasons": [r.as_dict() for r in c.reasons],
             "feature": site_feature(c.site, shown)} for i, c in enumerate(ranked[:limit])]
    if fmt == "csv":
        lines = ["rank,id,name_zh,city,district,score,idle_area_m2,vacancy_rate,reasons"]
        for r in rows:
            why = "; ".join(f"{x['zh']} ({x['points']:+g})" for x in r["reasons"])
            lines.append(",".join(_csv(v) for v in (r["rank"], r["id"], r["name_zh"], r["city"], r["district"],
                                                    r["score"], r["idle_area_m2"], r["vacancy_rate"], why)))
        resp = make_response("\ufeff" + "\n".join(lines) + "\n")
        resp.mimetype = "text/csv"
        return resp
    data = {"numberMatched": len(ranked), "numberReturned": len(rows), "rules": vacancy.__doc__.strip(),
            "candidates": rows}
    if fmt == "html":
        return render_template("api/candidates.html", data=data)
    return jsonify(data)


def _csv(value) -> str:
    text = "" if value is None else str(value)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text
