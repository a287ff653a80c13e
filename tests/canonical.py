"""Canonical test records: a small hand-made inventory that every store test uses.

Positions are real places in the six cities (rounded); all figures are made up
for the tests.  The expected ids in the filter table depend on these values:
change them only together with tests/sites/test_query_table.py.
"""

from datetime import date

from shapely.geometry import Point, box

from sites.model import District, Site, Survey, Unit

TODAY = date(2026, 11, 22)


def _site(id, name_zh, lon_lat_or_geom, city, **kw):
    geom = Point(*lon_lat_or_geom) if isinstance(lon_lat_or_geom, tuple) else lon_lat_or_geom
    kw.setdefault("data_status", "sample")
    kw.setdefault("location_precision", "street")
    kw.setdefault("first_added", date(2024, 1, 1))
    kw.setdefault("last_updated", date(2024, 6, 1))
    return Site(id=id, name_zh=name_zh, geometry=geom, city=city, **kw)


SITES = [
    _site("qd-a", "海聊制衣厂旧址", (120.38, 36.07), "青岛市", district="市南区", district_adcode="370202",
          kind="building", status="idle", heritage_grade="historic_building", name_en="Hailiao Garment Factory",
          aliases=("老厂房",), industries=("集成电路", "软件"), in_historic_area=True, year_built=1935,
          gross_floor_area_m2=5000, leasable_area_m2=4000, rent_cny_per_m2_day=1.5, address_zh="延安三路109号",
          vacant_since=date(2020, 5, 1), last_updated=date(2024, 6, 2)),
    _site("qd-b", "春峰里", (120.36, 36.06), "青岛市", district="市南区", district_adcode="370202",
          kind="complex", status="partly_idle", heritage_grade="municipal", name_en="Spring Peak Lane",
          aliases=("春峰里·数智都市",), industries=("数字经济",), in_historic_area=True,
          gross_floor_area_m2=10000, leasable_area_m2=8000, address_zh="香港西路20号", last_updated=date(2025, 3, 1)),
    _site("qd-c", "邮政跨境电商产业园", (120.43, 36.16), "青岛市", district="李沧区", district_adcode="370213",
          kind="building", status="operating", heritage_grade="none", name_en="Postal E-commerce Park",
          industries=("跨境电商",), in_historic_area=False, gross_floor_area_m2=36000, leasable_area_m2=30000,
          address_zh="四流中路46号", former_use="纺织厂"),
    _site("qd-d", "北岭大楼", (120.35, 36.09), "青岛市", district="市北区", district_adcode="370203",
          kind="building", status="partly_idle", name_en="Beiling Building", gross_floor_area_m2=1200,
          leasable_area_m2=1000, floors=5),
    _site("qd-e", "红岛规划地块", (120.40, 36.30), "青岛市", district="城阳区", district_adcode="370214",
          kind="complex", status="planned"),
    _site("qd-f", "旧仓库", (120.39, 36.065), "青岛市", district="市南区", district_adcode="370202",
          kind="building", status="retired", name_en="Old Warehouse", gross_floor_area_m2=600, leasable_area_m2=500),
    _site("xa-g", "倍格硅谷", (108.94, 34.26), "西安市", district="莲湖区", district_adcode="610104",
          kind="complex", status="operating", name_en="Bege Silicon Valley", aliases=("宏府大厦",),
          industries=("联合办公", "软件"), gross_floor_area_m2=30000, leasable_area_m2=20000, rent_cny_per_m2_day=3.2),
    _site("nj-h", "秦淮硅巷", box(118.78, 32.00, 118.82, 32.04), "南京市", district="秦淮区",
          district_adcode="320104", kind="area", status="operating", name_en="Qinhuai Silicon Alley",
          aliases=("秦淮硅谷",), location_precision="district"),
    _site("nb-i", "甬江老厂", (121.55, 29.87), "宁波市", district="鄞州区", district_adcode="330212",
          kind="building", status="renovating", heritage_grade="industrial_heritage", gross_floor_area_m2=3000,
          name_en="Yongjiang Mill"),
]

SURVEYS = [
    Survey("qd-a", date(2024, 6, 1), 4000, 0, 0, "test", "sample"),
    Survey("qd-b", date(2023, 1, 1), 8000, 2000, 5, "test", "sample"),
    Survey("qd-b", date(2024, 1, 1), 8000, 6000, 12, "test", "sample"),
    Survey("qd-c", date(2024, 3, 1), 30000, 29000, 40, "test", "reported"),
    Survey("qd-d", date(2022, 1, 1), 1000, 100, 1, "test", "sample"),  # superseded by its units
    Survey("qd-f", date(2021, 1, 1), 500, 0, 0, "test", "sample"),
    Survey("xa-g", date(2024, 9, 1), 20000, 15000, 80, "test", "sample"),
]

UNITS = {
    "qd-d": [
        Unit("qd-d", "1F", "101", 500, "leased", "甲公司", date(2024, 5, 1)),
        Unit("qd-d", "2F", "201", 300, "vacant_available", None, date(2024, 5, 1)),
        Unit("qd-d", "3F", "301", 200, "owner_occupied", "业主", date(2024, 7, 1)),
    ],
}

DISTRICTS = [
    District("370202", "市南区", "青岛市", "district", box(120.30, 36.03, 120.395, 36.08)),
    District("370213", "李沧区", "青岛市", "district", box(120.40, 36.12, 120.50, 36.22)),
    District("320104", "秦淮区", "南京市", "district", box(118.75, 31.98, 118.85, 32.06)),
]


def load(store, today=TODAY):
    with store.transaction() as tx:
        tx.today = today
        for d in DISTRICTS:
            tx.put_district(d)
        for s in SITES:
            tx.put_site(s)
        for s in SURVEYS:
            tx.put_survey(s)
        for site_id, units in UNITS.items():
            tx.set_units(site_id, units)
    return store
