"""The filter semantics as a table: (parameters, expected site ids), run against every store.

The CLI, the API and the map all build their queries with sites.query.build_query,
so this table is the one definition of what a filter means.  Data: tests/canonical.py.
Expected vacancy: qd-a 1.0, qd-b 0.25, qd-c 0.033, qd-d 0.3 (from units), qd-f 1.0
(retired), xa-g 0.25; qd-e, nj-h, nb-i have no occupancy.
"""

import json

import pytest

from sites.errors import FilterError
from sites.query import build_query

ALL = ["nb-i", "nj-h", "qd-a", "qd-b", "qd-c", "qd-d", "qd-e", "xa-g"]  # qd-f is retired

CASES = [
    ({}, ALL),
    ({"include_retired": "true"}, sorted(ALL + ["qd-f"])),
    ({"city": "青岛市"}, ["qd-a", "qd-b", "qd-c", "qd-d", "qd-e"]),
    ({"city": "青岛市,西安市"}, ["qd-a", "qd-b", "qd-c", "qd-d", "qd-e", "xa-g"]),
    ({"district": "市南区"}, ["qd-a", "qd-b"]),
    ({"status": "idle"}, ["qd-a"]),
    ({"status": "retired"}, ["qd-f"]),
    ({"status": "idle,partly_idle"}, ["qd-a", "qd-b", "qd-d"]),
    ({"status": "闲置"}, ["qd-a"]),
    ({"kind": "area"}, ["nj-h"]),
    ({"heritage_grade": "municipal,historic_building"}, ["qd-a", "qd-b"]),
    ({"data_status": "sample", "city": "南京市"}, ["nj-h"]),
    ({"vacancy_min": "0.25"}, ["qd-a", "qd-b", "qd-d", "xa-g"]),
    ({"vacancy_max": "0.1"}, ["qd-c"]),
    ({"vacancy_min": "0.2", "vacancy_max": "0.5"}, ["qd-b", "qd-d", "xa-g"]),
    ({"min_idle_area": "2000"}, ["qd-a", "qd-b", "xa-g"]),
    ({"min_leasable_area": "8000"}, ["qd-b", "qd-c", "xa-g"]),
    ({"within_district": "370202"}, ["qd-a", "qd-b"]),
    ({"within_district": "李沧区"}, ["qd-c"]),
    ({"near": "120.38,36.07", "radius": "2500"}, ["qd-a", "qd-b"]),
    ({"near": "120.38,36.07", "radius": "1000"}, ["qd-a"]),
    ({"near": "118.70,32.02", "radius": "8000"}, ["nj-h"]),  # 7.5 km from the area's west edge
    ({"near": "118.70,32.02", "radius": "7000"}, []),
    ({"bbox": "120.3,36.0,120.4,36.1"}, ["qd-a", "qd-b", "qd-d"]),
    ({"bbox": "118.8,32.03,118.9,32.1"}, ["nj-h"]),
    ({"within": "POLYGON((120.37 36.06, 120.39 36.06, 120.39 36.08, 120.37 36.08, 120.37 36.06))"}, ["qd-a"]),
    ({"within": json.dumps({"type": "Polygon", "coordinates": [[[120.37, 36.06], [120.39, 36.06], [120.39, 36.08],
                                                                [120.37, 36.08], [120.37, 36.06]]]})}, ["qd-a"]),
    ({"q": "硅"}, ["nj-h", "xa-g"]),
    ({"q": "硅谷"}, ["nj-h", "xa-g"]),  # nj-h by its alias 秦淮硅谷
    ({"q": "park"}, ["qd-c"]),
    ({"q": "PARK"}, ["qd-c"]),
    ({"q": "延安三路"}, ["qd-a"]),
    ({"q": "宏府"}, ["xa-g"]),
    ({"q": "不存在"}, []),
    # CQL2 text: basic
    ({"filter": "status = 'operating'"}, ["nj-h", "qd-c", "xa-g"]),
    ({"filter": "'operating' = status"}, ["nj-h", "qd-c", "xa-g"]),
    ({"filter": "status <> 'operating'"}, ["nb-i", "qd-a", "qd-b", "qd-d", "qd-e"]),
    ({"filter": "gross_floor_area_m2 > 5000"}, ["qd-b", "qd-c", "xa-g"]),
    ({"filter": "gross_floor_area_m2 >= 5000"}, ["qd-a", "qd-b", "qd-c", "xa-g"]),
    ({"filter": "5000 < gross_floor_area_m2"}, ["qd-b", "qd-c", "xa-g"]),
    ({"filter": "floors <= 5"}, ["qd-d"]),
    ({"filter": "NOT (floors <= 5)"}, []),  # unknown stays unknown under NOT
    ({"filter": "floors IS NULL"}, ["nb-i", "nj-h", "qd-a", "qd-b", "qd-c", "qd-e", "xa-g"]),
    ({"filter": "heritage_grade IS NOT NULL"}, ["nb-i", "qd-a", "qd-b", "qd-c"]),
    ({"filter": "industries IS NULL"}, ["nb-i", "nj-h", "qd-d", "qd-e"]),
    ({"filter": "in_historic_area = true"}, ["qd-a", "qd-b"]),
    ({"filter": "in_historic_area = FALSE"}, ["qd-c"]),
    ({"filter": "tenant_count >= 12"}, ["qd-b", "qd-c", "xa-g"]),
    ({"filter": "occupied_area_m2 = 700"}, ["qd-d"]),
    ({"filter": "year_built < 1950"}, ["qd-a"]),
    ({"filter": "id = 'qd-c'"}, ["qd-c"]),
    ({"filter": "occupancy_data_status = 'reported'"}, ["qd-c"]),
    ({"filter": "occupancy_basis = 'units'"}, ["qd-d"]),
    ({"filter": "city = '青岛市' AND (status = 'idle' OR vacancy_rate > 0.28)"}, ["qd-a", "qd-d"]),
    ({"filter": "vacancy_rate = 1", "include_retired": "1"}, ["qd-a", "qd-f"]),
    # advanced comparison
    ({"filter": "name_en LIKE '%Park'"}, ["qd-c"]),
    ({"filter": "name_en LIKE '%park'"}, []),
    ({"filter": "name_en NOT LIKE '%Park'"}, ["nb-i", "nj-h", "qd-a", "qd-b", "qd-d", "xa-g"]),
    ({"filter": "name_en LIKE 'S_ring%'"}, ["qd-b"]),
    ({"filter": "name_zh LIKE '%硅%'"}, ["nj-h", "xa-g"]),
    ({"filter": "name_zh LIKE '倍格__'"}, ["xa-g"]),
    ({"filter": "vacancy_rate BETWEEN 0.2 AND 0.3"}, ["qd-b", "qd-d", "xa-g"]),
    ({"filter": "vacancy_rate NOT BETWEEN 0.2 AND 0.3"}, ["qd-a", "qd-c"]),
    ({"filter": "status IN ('idle', 'renovating')"}, ["nb-i", "qd-a"]),
    ({"filter": "status NOT IN ('idle', 'renovating')"}, ["nj-h", "qd-b", "qd-c", "qd-d", "qd-e", "xa-g"]),
    # case- and accent-insensitive comparison
    ({"filter": "CASEI(name_en) LIKE CASEI('%park')"}, ["qd-c"]),
    ({"filter": "CASEI(name_en) = casei('SPRING PEAK LANE')"}, ["qd-b"]),
    ({"filter": "ACCENTI(name_en) = ACCENTI('Bégé Silicon Valley')"}, ["xa-g"]),
    # spatial
    ({"filter": "S_INTERSECTS(geometry, BBOX(120.3, 36.0, 120.4, 36.1))"}, ["qd-a", "qd-b", "qd-d"]),
    ({"filter": "S_INTERSECTS(geometry, POINT(118.8 32.02))"}, ["nj-h"]),
    ({"filter": "S_INTERSECTS(geometry, POLYGON((120.37 36.06, 120.39 36.06, 120.39 36.08, 120.37 36.08, "
                "120.37 36.06)))"}, ["qd-a"]),
    ({"filter": "S_WITHIN(geometry, POLYGON((118 31, 119 31, 119 33, 118 33, 118 31)))"}, ["nj-h"]),
    ({"filter": "S_CONTAINS(geometry, POINT(118.8 32.02))"}, ["nj-h"]),
    ({"filter": "S_DISJOINT(geometry, BBOX(115, 28, 125, 40))"}, ["xa-g"]),
    ({"filter": "S_EQUALS(geometry, POINT(120.43 36.16))"}, ["qd-c"]),
    ({"filter": "S_TOUCHES(geometry, POINT(118.78 32.02))"}, ["nj-h"]),
    # temporal
    ({"filter": "T_AFTER(last_updated, DATE('2024-06-01'))"}, ["qd-a", "qd-b"]),
    ({"filter": "T_BEFORE(survey_date, DATE('2024-06-01'))"}, ["qd-b", "qd-c"]),
    ({"filter": "T_DURING(survey_date, INTERVAL('2024-01-01', '2024-07-01'))"}, ["qd-a", "qd-c"]),
    ({"filter": "T_INTERSECTS(survey_date, INTERVAL('2024-01-01', '2024-07-01'))"}, ["qd-a", "qd-b", "qd-c", "qd-d"]),
    ({"filter": "T_INTERSECTS(survey_date, INTERVAL('2024-06-01', '..'))"}, ["qd-a", "qd-d", "xa-g"]),
    ({"filter": "T_DISJOINT(survey_date, INTERVAL('2024-01-01', '2024-07-01'))"}, ["xa-g"]),
    ({"filter": "T_EQUALS(survey_date, DATE('2024-09-01'))"}, ["xa-g"]),
    ({"filter": "last_updated > TIMESTAMP('2025-01-01T00:00:00Z')"}, ["qd-b"]),
    ({"filter": "vacant_since < DATE('2021-01-01')"}, ["qd-a"]),
    # arrays
    ({"filter": "A_CONTAINS(industries, ('软件'))"}, ["qd-a", "xa-g"]),
    ({"filter": "A_OVERLAPS(industries, ('数字经济', '跨境电商'))"}, ["qd-b", "qd-c"]),
    ({"filter": "A_EQUALS(industries, ('集成电路', '软件'))"}, ["qd-a"]),
    ({"filter": "A_CONTAINEDBY(industries, ('软件', '联合办公'))"}, ["nb-i", "nj-h", "qd-d", "qd-e", "xa-g"]),
    ({"filter": "A_CONTAINS(aliases, ('秦淮硅谷'))"}, ["nj-h"]),
    # CQL2-JSON (the bbox literal is minx, miny, maxx, maxy: pygeofilter 0.4.0 swaps it)
    ({"filter": json.dumps({"op": "s_intersects", "args": [{"property": "geometry"},
                                                           {"bbox": [120.3, 36.0, 120.4, 36.1]}]}),
      "filter_lang": "cql2-json"}, ["qd-a", "qd-b", "qd-d"]),
    ({"filter": json.dumps({"op": "and", "args": [
        {"op": ">", "args": [{"property": "idle_area_m2"}, 1500]},
        {"op": "=", "args": [{"property": "city"}, "青岛市"]}]}), "filter_lang": "cql2-json"}, ["qd-a", "qd-b"]),
    ({"filter": json.dumps({"op": "like", "args": [{"op": "casei", "args": [{"property": "name_en"}]},
                                                   {"op": "casei", "args": ["%silicon%"]}]}),
      "filter_lang": "cql2-json"}, ["nj-h", "xa-g"]),
    ({"filter": json.dumps({"op": "t_after", "args": [{"property": "survey_date"}, {"date": "2024-06-01"}]}),
      "filter_lang": "cql2-json"}, ["qd-d", "xa-g"]),
    ({"filter": "status = 'idle'", "filter_lang": "cql-text"}, ["qd-a"]),
    # combinations of simple parameters and CQL2
    ({"city": "青岛市", "filter": "vacancy_rate >= 0.3", "bbox": "120.3,36.0,120.4,36.1"}, ["qd-a", "qd-d"]),
    # sorting (nulls last, ties by id) and paging
    ({"city": "青岛市", "sortby": "-vacancy_rate"}, ["qd-a", "qd-d", "qd-b", "qd-c", "qd-e"]),
    ({"sortby": "idle_area_m2"}, ["qd-d", "qd-c", "qd-b", "qd-a", "xa-g", "nb-i", "nj-h", "qd-e"]),
    ({"sortby": "-idle_area_m2"}, ["xa-g", "qd-a", "qd-b", "qd-c", "qd-d", "nb-i", "nj-h", "qd-e"]),
    ({"sortby": "name_en", "limit": "3"}, ["xa-g", "qd-d", "qd-a"]),
    ({"sortby": "-status,id"}, ["nb-i", "qd-e", "qd-b", "qd-d", "nj-h", "qd-c", "xa-g", "qd-a"]),
    ({"limit": "2", "offset": "2"}, ["qd-a", "qd-b"]),
    ({"offset": "7"}, ["xa-g"]),
]


def _ids(store, params):
    page = store.query(build_query(params, district_geometry=store.district_geometry))
    return [s.id for s in page.sites], page.number_matched


@pytest.mark.parametrize("params,expected", CASES, ids=[json.dumps(c[0], ensure_ascii=False)[:70] for c in CASES])
def test_filter_table(store, params, expected):
    ids, _ = _ids(store, params)
    assert ids == expected


def test_number_matched_counts_all_pages(store):
    ids, matched = _ids(store, {"limit": "2", "offset": "2"})
    assert (len(ids), matched) == (2, len(ALL))


ERRORS = [
    ({"filter": "foo = 1"}, "filter", "unknown property 'foo'"),
    ({"filter": "status = 'idel'"}, "filter", "'idel'"),
    ({"filter": "floors >"}, "filter", "column"),
    ({"filter": "name_zh = 5"}, "filter", "name_zh"),
    ({"filter": "S_INTERSECTS(name_zh, POINT(1 2))"}, "filter", "geometry"),
    ({"filter": "vacancy_rate LIKE '%a'"}, "filter", "vacancy_rate"),
    ({"filter": "industries = 'a'"}, "filter", "industries"),
    ({"filter": "T_AFTER(name_zh, DATE('2020-01-01'))"}, "filter", "name_zh"),
    ({"filter": "floors + 1 > 3"}, "filter", "arithmetic"),
    ({"filter": "frobnicate(floors) = 3"}, "filter", "frobnicate"),
    ({"filter": "{not json", "filter_lang": "cql2-json"}, "filter", "JSON"),
    ({"filter": "status = 'idle'", "filter_lang": "cql3"}, "filter-lang", "cql3"),
    ({"vacancy_min": "abc"}, "vacancy_min", "abc"),
    ({"vacancy_min": "35"}, "vacancy_min", "between 0 and 1"),
    ({"vacancy_min": "0.5", "vacancy_max": "0.2"}, "vacancy_min", "greater"),
    ({"min_idle_area": "-1"}, "min_idle_area", "≥ 0"),
    ({"bbox": "1,2,3"}, "bbox", "4"),
    ({"bbox": "200,0,210,1"}, "bbox", "WGS-84"),
    ({"bbox": "10,0,5,1"}, "bbox", "greater"),
    ({"near": "120,36"}, "radius", "together"),
    ({"near": "120,36", "radius": "0"}, "radius", "more than 0"),
    ({"within": "POLYGON((0 0, 1 1"}, "within", "WKT"),
    ({"sortby": "nope"}, "sortby", "nope"),
    ({"sortby": "industries"}, "sortby", "industries"),
    ({"limit": "0"}, "limit", "≥ 1"),
    ({"limit": "abc"}, "limit", "abc"),
    ({"offset": "-1"}, "offset", "≥ 0"),
    ({"status": "idel"}, "status", "idel"),
    ({"within_district": "不存在区"}, "within_district", "不存在区"),
    ({"include_retired": "maybe"}, "include_retired", "maybe"),
]


@pytest.mark.parametrize("params,parameter,fragment", ERRORS, ids=[e[1] + ":" + str(e[0])[:40] for e in ERRORS])
def test_bad_filters_name_the_parameter(store, params, parameter, fragment):
    with pytest.raises(FilterError) as info:
        build_query(params, district_geometry=store.district_geometry)
    assert info.value.parameter == parameter
    assert fragment in str(info.value)


def test_a_filter_checked_once_is_checked_for_each_caller():
    """Checked CQL2 filters are kept for reuse, per filter, language and hidden properties: a
    property hidden from one caller stays unknown to them after another caller used it."""
    text = "rent_cny_per_m2_day < 2"
    allowed = build_query({"filter": text})
    with pytest.raises(FilterError, match="unknown property 'rent_cny_per_m2_day'"):
        build_query({"filter": text}, hidden=frozenset({"rent_cny_per_m2_day"}))
    assert build_query({"filter": text}).filter == allowed.filter
    for _ in range(2):  # a bad filter is refused every time, never kept
        with pytest.raises(FilterError, match="unknown property 'nope'"):
            build_query({"filter": "nope = 1"})
