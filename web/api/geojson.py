"""Sites and districts as GeoJSON features, and the links of a paged response."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote, urlencode

from sites.schema import FIELDS, site_properties

GEOJSON = "application/geo+json"


def site_feature(site, properties: list[str] | None = None) -> dict:
    props = site_properties(site)
    props.pop("id")
    if properties is not None:
        props = {k: props[k] for k in properties if k in props}
    return {"type": "Feature", "id": site.id, "geometry": geometry(site.geometry), "properties": props}


def geometry(geom) -> dict:
    if geom.geom_type == "Point":  # most sites: skip shapely's generic mapping
        return {"type": "Point", "coordinates": [geom.x, geom.y]}
    return geom.__geo_interface__


def district_feature(d) -> dict:
    return {"type": "Feature", "id": d.adcode, "geometry": d.geometry.__geo_interface__,
            "properties": {"adcode": d.adcode, "name": d.name, "city": d.city, "level": d.level, "source": d.source}}


def page_url(base: str, args, **changes) -> str:
    """The same request with some parameters changed, percent-encoded (never '+')."""
    pairs = [(k, v) for k, v in args.items(multi=True) if k not in changes]
    pairs += [(k, str(v)) for k, v in changes.items() if v is not None]
    return f"{base}?{urlencode(pairs, quote_via=quote)}" if pairs else base


def paging_links(base: str, args, offset: int, limit: int, returned: int, matched: int, media=GEOJSON) -> list:
    links = [{"rel": "self", "type": media, "title": "this page", "href": page_url(base, args)}]
    for fmt, media_type in (("json", GEOJSON), ("html", "text/html"), ("csv", "text/csv")):
        if media_type != media:
            links.append({"rel": "alternate", "type": media_type, "title": f"this page as {fmt}",
                          "href": page_url(base, args, f=fmt)})
    if offset + returned < matched:
        links.append({"rel": "next", "type": media, "title": "next page",
                      "href": page_url(base, args, offset=offset + limit, limit=limit)})
    if offset > 0:
        links.append({"rel": "prev", "type": media, "title": "previous page",
                      "href": page_url(base, args, offset=max(0, offset - limit), limit=limit)})
    return links


def sites_csv(sites, properties: list[str] | None = None) -> str:
    names = properties or [f.name for f in FIELDS]
    if "id" not in names:
        names = ["id", *names]
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 Chinese text correctly only with a BOM
    writer = csv.writer(out)
    writer.writerow([*names, "lon", "lat", "wkt"])
    for site in sites:
        props = site_properties(site)
        row = ["; ".join(v) if isinstance(v, list) else v for v in (props.get(n) for n in names)]
        wkt = "" if site.geometry.geom_type == "Point" else site.geometry.wkt
        writer.writerow([*("" if v is None else v for v in row), props["lon"], props["lat"], wkt])
    return out.getvalue()
