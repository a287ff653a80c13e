"""Sites and districts as GeoJSON features, and the links of a paged response."""

from __future__ import annotations

import csv
import io
import json
import time
from functools import lru_cache
from urllib.parse import quote

from sites.schema import FIELDS, site_properties
from sites.stores.base import PROPERTIES, site_feature as _feature

GEOJSON = "application/geo+json"
__all__ = ["GEOJSON", "PROPERTIES", "site_feature", "collection_json", "with_links", "time_stamp",
           "district_feature", "paging_links", "sites_csv"]


def site_feature(site, properties: list[str] | None = None) -> dict:
    """A site as a Feature: every property (PROPERTIES), or only the listed ones in that order."""
    return _feature(site, PROPERTIES if properties is None else properties)


def time_stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def collection_json(found, links: list, time_stamp: str) -> bytes:
    """A FeatureCollection (UTF-8 JSON) around a page's features that are already JSON
    (store.query_geojson): the features are spliced in, never parsed or encoded again."""
    rest = json.dumps({"numberMatched": found.number_matched, "numberReturned": found.number_returned,
                       "timeStamp": time_stamp, "links": links}, ensure_ascii=False, separators=(",", ":"))
    return b"".join((b'{"type":"FeatureCollection","features":', found.features, b",", rest[1:].encode()))


def with_links(feature: bytes, links: list) -> bytes:
    """A feature (UTF-8 JSON object, as the store renders it) with a ``links`` member added."""
    return b"".join((feature[:-1], b',"links":', json.dumps(links, ensure_ascii=False, separators=(",", ":")).encode(),
                     b"}"))


def district_feature(d) -> dict:
    return {"type": "Feature", "id": d.adcode, "geometry": d.geometry.__geo_interface__,
            "properties": {"adcode": d.adcode, "name": d.name, "city": d.city, "level": d.level, "source": d.source}}


def page_url(base: str, args, **changes) -> str:
    """The same request with some parameters changed, percent-encoded (never '+')."""
    return _PageUrls(base, args).url(**changes)


class _PageUrls:
    """page_url for several links of one request: each parameter is percent-encoded once."""

    def __init__(self, base: str, args):
        self.base = base
        self.pairs = [(k, _pair(k, v)) for k, v in args.items(multi=True)]

    def url(self, **changes) -> str:
        parts = [encoded for k, encoded in self.pairs if k not in changes]
        parts += [f"{quote(k, safe='')}={quote(str(v), safe='')}" for k, v in changes.items() if v is not None]
        return f"{self.base}?{'&'.join(parts)}" if parts else self.base


@lru_cache(maxsize=1024)
def _pair(name: str, value: str) -> str:
    """name=value percent-encoded (clients repeat the same parameters page after page)."""
    return f"{quote(name, safe='')}={quote(value, safe='')}"


def paging_links(base: str, args, offset: int, limit: int, returned: int, matched: int, media=GEOJSON) -> list:
    urls = _PageUrls(base, args)
    links = [{"rel": "self", "type": media, "title": "this page", "href": urls.url()}]
    for fmt, media_type in (("json", GEOJSON), ("html", "text/html"), ("csv", "text/csv")):
        if media_type != media:
            links.append({"rel": "alternate", "type": media_type, "title": f"this page as {fmt}",
                          "href": urls.url(f=fmt)})
    if offset + returned < matched:
        links.append({"rel": "next", "type": media, "title": "next page",
                      "href": urls.url(offset=offset + limit, limit=limit)})
    if offset > 0:
        links.append({"rel": "prev", "type": media, "title": "previous page",
                      "href": urls.url(offset=max(0, offset - limit), limit=limit)})
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
