"""Synthetic inventories for benchmarks: N made-up sites in the six cities, seeded.

``generate(n, seed)`` returns sites and their surveys as model records;
``write_csv(path, n, seed)`` writes the same sites as an import CSV (English
headers: the stored site properties, ``lon``/``lat``, ``wkt`` for the polygons and
the occupancy columns ``survey_date``, ``occupied_area_m2``, ``tenant_count``), the
columns sites.exporting writes and sites.importing reads.

The records look like a real register so that filters select realistic shares:
Qingdao holds the most sites; points cluster (normal distribution) around the
urban centres of a few districts per city, so a box over Qingdao's old town
catches a dense cluster and a box elsewhere almost nothing; most sites are
buildings, some complexes and about 1% areas (squares of about 1 km); statuses,
heritage grades and occupancy follow plausible weights.  Every record passes
sites.validation (all dates are on or before 2026-06-30, so "not in the future"
holds on any machine clock after that day).  Every value is data_status
``sample``: nothing here describes a real place.

Same n and seed, same records, on any machine (numpy's PCG64 generator).
"""

from __future__ import annotations

import csv
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import box

from sites.cities import CITIES
from sites.model import Site, Survey
from sites.schema import STORED

#: city -> share of the sites (Qingdao, the inventory's home, holds the most)
CITY_WEIGHTS = {"青岛市": 0.40, "杭州市": 0.14, "成都市": 0.14, "南京市": 0.12, "西安市": 0.10, "宁波市": 0.10}

#: city -> [(district, adcode, (lon, lat) of its urban centre, share of the city's sites, spread in degrees)].
#: Centres are approximate WGS-84 positions of each district's built-up core (not polygon centroids,
#: which fall on mountains and farmland in the large outer districts).
DISTRICTS = {
    "青岛市": [
        ("市南区", "370202", (120.375, 36.068), 0.20, 0.012),
        ("市北区", "370203", (120.365, 36.105), 0.18, 0.012),
        ("李沧区", "370213", (120.425, 36.165), 0.14, 0.015),
        ("崂山区", "370212", (120.468, 36.107), 0.10, 0.015),
        ("城阳区", "370214", (120.396, 36.307), 0.12, 0.020),
        ("黄岛区", "370211", (120.198, 35.960), 0.14, 0.030),
        ("即墨区", "370215", (120.447, 36.389), 0.06, 0.020),
        ("胶州市", "370281", (120.033, 36.264), 0.06, 0.020),
    ],
    "西安市": [
        ("新城区", "610102", (108.961, 34.266), 0.18, 0.012),
        ("碑林区", "610103", (108.940, 34.252), 0.16, 0.010),
        ("莲湖区", "610104", (108.920, 34.268), 0.18, 0.012),
        ("雁塔区", "610113", (108.926, 34.210), 0.20, 0.020),
        ("未央区", "610112", (108.947, 34.309), 0.16, 0.020),
        ("灞桥区", "610111", (109.064, 34.273), 0.12, 0.020),
    ],
    "南京市": [
        ("玄武区", "320102", (118.797, 32.049), 0.16, 0.012),
        ("秦淮区", "320104", (118.795, 32.025), 0.18, 0.010),
        ("鼓楼区", "320106", (118.770, 32.066), 0.16, 0.010),
        ("建邺区", "320105", (118.732, 32.004), 0.14, 0.012),
        ("栖霞区", "320113", (118.909, 32.096), 0.12, 0.025),
        ("雨花台区", "320114", (118.779, 31.992), 0.10, 0.012),
        ("江宁区", "320115", (118.840, 31.953), 0.14, 0.030),
    ],
    "杭州市": [
        ("上城区", "330102", (120.171, 30.250), 0.18, 0.015),
        ("拱墅区", "330105", (120.142, 30.319), 0.18, 0.015),
        ("西湖区", "330106", (120.130, 30.259), 0.14, 0.020),
        ("滨江区", "330108", (120.212, 30.208), 0.14, 0.012),
        ("萧山区", "330109", (120.264, 30.184), 0.14, 0.030),
        ("余杭区", "330110", (119.978, 30.273), 0.12, 0.030),
        ("临平区", "330113", (120.299, 30.419), 0.10, 0.020),
    ],
    "宁波市": [
        ("海曙区", "330203", (121.550, 29.874), 0.26, 0.012),
        ("江北区", "330205", (121.555, 29.900), 0.18, 0.012),
        ("鄞州区", "330212", (121.547, 29.817), 0.26, 0.020),
        ("镇海区", "330211", (121.716, 29.949), 0.14, 0.020),
        ("北仑区", "330206", (121.845, 29.899), 0.16, 0.030),
    ],
    "成都市": [
        ("锦江区", "510104", (104.083, 30.657), 0.16, 0.012),
        ("青羊区", "510105", (104.062, 30.674), 0.16, 0.012),
        ("金牛区", "510106", (104.052, 30.692), 0.16, 0.015),
        ("武侯区", "510107", (104.043, 30.642), 0.18, 0.015),
        ("成华区", "510108", (104.102, 30.660), 0.14, 0.015),
        ("双流区", "510116", (103.923, 30.574), 0.10, 0.030),
        ("郫都区", "510117", (103.901, 30.795), 0.10, 0.030),
    ],
}

KIND_WEIGHTS = {"building": 0.85, "complex": 0.14, "area": 0.01}
STATUS_WEIGHTS = {"idle": 0.22, "partly_idle": 0.26, "renovating": 0.10, "operating": 0.32, "planned": 0.07,
                  "retired": 0.03}
#: None is "not recorded"; a condition on it never matches, as in SQL
HERITAGE_WEIGHTS = {"none": 0.85, None: 0.05, "industrial_heritage": 0.04, "historic_building": 0.03,
                    "municipal": 0.02, "provincial": 0.008, "national": 0.002}
PRECISION_WEIGHTS = {"building": 0.60, "street": 0.30, "surveyed": 0.05, "district": 0.05}
#: status -> range of the occupied share of the leasable area in the latest survey
OCCUPIED_SHARE = {"idle": (0.0, 0.1), "partly_idle": (0.2, 0.8), "renovating": (0.0, 0.3),
                  "operating": (0.7, 1.0), "planned": (0.0, 0.05), "retired": (0.0, 0.2)}
CURRENT_USE = {"idle": "闲置", "partly_idle": "产业园", "renovating": "改造中", "operating": "产业园",
               "planned": "待开发", "retired": "已拆除"}
FORMER_USES = ("纺织厂", "机械厂", "仓库", "印刷厂", "食品厂", "化工厂", "啤酒厂", "橡胶厂", "电子厂", "办公楼")
ROADS = ("工业路", "建设路", "人民路", "解放路", "中山路", "胜利路", "和平路", "长江路", "黄河路", "兴业路")
INDUSTRIES = ("软件", "集成电路", "数字经济", "人工智能", "工业设计", "文化创意", "跨境电商", "生物医药")
OPERATORS = ("城市更新投资有限公司", "产业园运营管理有限公司", "国有资产经营有限公司", "文化创意产业发展有限公司")

SOURCE = "synthetic benchmark data (bench/synthetic.py), not a real place"
LATEST_DAY = date(2026, 6, 30)  # no generated date is later
_EPOCH = date(2021, 1, 1)
_AREA_HALF_SIDE_DEG = 0.0045  # about 500 m north-south: areas are squares of about 1 km
_MARGIN_DEG = 0.01  # keep points and area squares this far inside the city's bbox


def _choice(rng, weights: dict, n: int) -> list:
    keys = list(weights)
    p = np.array(list(weights.values()), dtype=float)
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum())]


def _day(offset_days: int) -> date:
    return _EPOCH + timedelta(days=offset_days)


def generate(n: int, seed: int = 0) -> tuple[list[Site], list[Survey]]:
    """n synthetic sites (ids ``syn-0000000`` ...) and one or two surveys for each."""
    if n < 0:
        raise ValueError(f"n must be ≥ 0, got {n}")
    rng = np.random.default_rng(seed)

    # where: city, then district, then a normal scatter around the district's centre
    cities = _choice(rng, CITY_WEIGHTS, n)
    district_index = np.empty(n, dtype=int)
    for city in CITY_WEIGHTS:
        rows = [i for i, c in enumerate(cities) if c == city]
        p = np.array([d[3] for d in DISTRICTS[city]])
        district_index[rows] = rng.choice(len(p), size=len(rows), p=p / p.sum())
    offsets = rng.standard_normal((n, 2))

    # what
    kinds = _choice(rng, KIND_WEIGHTS, n)
    statuses = _choice(rng, STATUS_WEIGHTS, n)
    heritage = _choice(rng, HERITAGE_WEIGHTS, n)
    precisions = _choice(rng, PRECISION_WEIGHTS, n)
    gross = np.clip(np.round(rng.lognormal(math.log(5000), 0.9, n)), 500, 50_000)
    leasable = np.round(gross * rng.uniform(0.6, 0.9, n))
    year_built = rng.integers(1930, 2016, n)
    floors = rng.integers(1, 13, n)
    former = rng.integers(0, len(FORMER_USES), n)
    roads = rng.integers(0, len(ROADS), n)
    house_numbers = rng.integers(1, 400, n)
    industry_count = rng.choice(3, size=n, p=[0.4, 0.4, 0.2])
    industry_picks = rng.integers(0, len(INDUSTRIES), (n, 2))
    operator = rng.integers(-1, len(OPERATORS), n)  # -1: none recorded
    rent = np.round(rng.lognormal(math.log(1.5), 0.4, n), 2)
    has_rent = rng.random(n) < 0.7
    in_historic = rng.random(n)
    first_added = rng.integers(0, 4 * 365, n)  # 2021..2024
    updated_after = rng.integers(0, 365, n)
    vacant_since = rng.integers(-6 * 365, 3 * 365, n)  # 2015..2023

    # occupancy: the latest survey follows the status, an earlier one (half the sites) differs a little
    latest_day = rng.integers(3 * 365, (LATEST_DAY - _EPOCH).days + 1, n)  # 2024-01..2026-06
    share = rng.random(n)
    two_surveys = rng.random(n) < 0.5
    earlier_gap = rng.integers(180, 730, n)
    earlier_share = rng.uniform(-0.2, 0.2, n)
    m2_per_tenant = rng.uniform(200, 1500, n)

    # positions, vectorised: scatter around the district centre, kept inside the city's bbox
    centre = np.array([DISTRICTS[c][d][2] for c, d in zip(cities, district_index)]).reshape(n, 2)
    spread = np.array([DISTRICTS[c][d][4] for c, d in zip(cities, district_index)])
    bboxes = np.array([CITIES[c].bbox for c in cities]).reshape(n, 4)
    lon = np.round(np.clip(centre[:, 0] + offsets[:, 0] * spread, bboxes[:, 0] + _MARGIN_DEG,
                           bboxes[:, 2] - _MARGIN_DEG), 6)
    lat = np.round(np.clip(centre[:, 1] + offsets[:, 1] * spread, bboxes[:, 1] + _MARGIN_DEG,
                           bboxes[:, 3] - _MARGIN_DEG), 6)
    points = shapely.points(lon, lat)
    latest_share = np.array([OCCUPIED_SHARE[s][0] for s in statuses]) + share * np.array(
        [OCCUPIED_SHARE[s][1] - OCCUPIED_SHARE[s][0] for s in statuses])
    earlier_share = np.clip(latest_share + earlier_share, 0.0, 1.0)
    # plain Python values for the loop (numpy scalars are slow to index and are not JSON/SQL friendly)
    (lon, lat, district_index, gross, leasable, year_built, floors, former, roads, house_numbers, industry_count,
     industry_picks, operator, rent, has_rent, in_historic, first_added, updated_after, vacant_since, latest_day,
     latest_share, two_surveys, earlier_gap, earlier_share, m2_per_tenant) = (
        a.tolist() for a in (lon, lat, district_index, gross, leasable, year_built, floors, former, roads,
                             house_numbers, industry_count, industry_picks, operator, rent, has_rent, in_historic,
                             first_added, updated_after, vacant_since, latest_day, latest_share, two_surveys,
                             earlier_gap, earlier_share, m2_per_tenant))

    sites: list[Site] = []
    surveys: list[Survey] = []
    serial: dict[str, int] = {}
    for i in range(n):
        city = CITIES[cities[i]]
        district, adcode, *_ = DISTRICTS[cities[i]][district_index[i]]
        kind, status = kinds[i], statuses[i]
        if kind == "area":
            half_lon = _AREA_HALF_SIDE_DEG / math.cos(math.radians(lat[i]))
            geometry = box(lon[i] - half_lon, lat[i] - _AREA_HALF_SIDE_DEG, lon[i] + half_lon,
                           lat[i] + _AREA_HALF_SIDE_DEG)
        else:
            geometry = points[i]
        number = serial[district] = serial.get(district, 0) + 1
        site_id = f"syn-{i:07d}"
        added = _day(first_added[i])
        industries = tuple(dict.fromkeys(INDUSTRIES[j] for j in industry_picks[i][:industry_count[i]]))
        sites.append(Site(
            id=site_id,
            name_zh=f"{district}{number}号厂房",
            geometry=geometry,
            city=city.name_zh,
            kind=kind,
            status=status,
            location_precision="district" if kind == "area" else precisions[i],
            data_status="sample",
            district=district,
            district_adcode=adcode,
            address_zh=f"{city.name_zh}{district}{ROADS[roads[i]]}{house_numbers[i]}号",
            location_source="synthetic: normal scatter around the district centre",
            former_use=FORMER_USES[former[i]],
            current_use=CURRENT_USE[status],
            year_built=year_built[i],
            heritage_grade=heritage[i],
            in_historic_area=(in_historic[i] < 0.15) if in_historic[i] < 0.9 else None,
            floors=floors[i],
            gross_floor_area_m2=gross[i],
            leasable_area_m2=leasable[i],
            operator=f"{city.name_zh[:-1]}{OPERATORS[operator[i]]}" if operator[i] >= 0 else None,
            industries=industries,
            rent_cny_per_m2_day=rent[i] if has_rent[i] else None,
            vacant_since=_day(vacant_since[i]) if status in ("idle", "partly_idle") else None,
            source=SOURCE,
            first_added=added,
            last_updated=min(added + timedelta(days=updated_after[i]), LATEST_DAY),
        ))
        latest = _survey(site_id, _day(latest_day[i]), leasable[i], latest_share[i], m2_per_tenant[i])
        if two_surveys[i]:
            surveys.append(_survey(site_id, latest.survey_date - timedelta(days=earlier_gap[i]), leasable[i],
                                   earlier_share[i], m2_per_tenant[i]))
        surveys.append(latest)
    return sites, surveys


def _survey(site_id, day, leasable, share, m2_per_tenant) -> Survey:
    occupied = float(min(round(leasable * share), leasable))
    return Survey(site_id, day, leasable, occupied, math.ceil(occupied / m2_per_tenant), SOURCE, "sample")


# --------------------------------------------------------------------------- CSV

SITE_COLUMNS = [f.name for f in STORED]
CSV_COLUMNS = [*SITE_COLUMNS, "lon", "lat", "wkt", "survey_date", "occupied_area_m2", "tenant_count"]


def write_csv(path, n: int, seed: int = 0) -> int:
    """Write n synthetic sites as an import CSV (UTF-8, English headers); returns the row count.

    One row a site, with its latest survey in the occupancy columns (a row has room
    for one survey, so a site's earlier survey is not in the file).  As the exporter
    does, ``lon``/``lat`` is the site's representative point and ``wkt`` holds the
    whole geometry of polygons only.
    """
    sites, surveys = generate(n, seed)
    latest = {s.site_id: s for s in surveys}  # a site's surveys come oldest first
    with open(Path(path), "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(CSV_COLUMNS)
        for site in sites:
            survey = latest[site.id]
            point = site.representative_point()
            wkt = None if site.geometry.geom_type == "Point" else shapely.to_wkt(site.geometry, rounding_precision=-1)
            out.writerow([*(_cell(getattr(site, name)) for name in SITE_COLUMNS), _cell(point.x), _cell(point.y),
                          _cell(wkt), _cell(survey.survey_date), _cell(survey.occupied_area_m2),
                          _cell(survey.tenant_count)])
    return len(sites)


def _cell(value) -> str:
    """A value as the importer reads it back unchanged (floats in their shortest exact form)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return ";".join(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
