"""Invariants: each violation names the site and the field."""

from datetime import date

import pytest
from shapely.geometry import Point, Polygon

from sites.errors import ValidationError
from sites.model import Survey, Unit
from sites.validation import validate_site, validate_survey, validate_units
from tests import canonical

SITE = canonical.SITES[0]  # qd-a
TODAY = canonical.TODAY

BAD_SITES = [
    (dict(id="QD A"), "id"),
    (dict(name_zh=""), "name_zh"),
    (dict(status="idel"), "status"),
    (dict(kind="tower"), "kind"),
    (dict(heritage_grade="world"), "heritage_grade"),
    (dict(data_status="true"), "data_status"),
    (dict(gross_floor_area_m2=-1), "gross_floor_area_m2"),
    (dict(leasable_area_m2=6000), "leasable_area_m2"),  # more than gross 5000
    (dict(last_updated=date(2027, 1, 1)), "last_updated"),
    (dict(vacant_since=date(2030, 1, 1)), "vacant_since"),
    (dict(floors=500), "floors"),
    (dict(year_built=3000), "year_built"),
    (dict(geometry=Point(108.94, 34.26)), "geometry"),  # Xi'an point, city 青岛市
    (dict(geometry=Point(500000, 4000000)), "geometry"),  # projected metres, not degrees
    (dict(geometry=Polygon([(120.3, 36.0), (120.4, 36.1), (120.4, 36.0), (120.3, 36.1)])), "geometry"),  # bow-tie
    (dict(district_adcode="610104"), "district_adcode"),  # Xi'an adcode in Qingdao
    (dict(district_adcode="3702"), "district_adcode"),
]


@pytest.mark.parametrize("change,field", BAD_SITES, ids=[f for _, f in BAD_SITES])
def test_invalid_site_names_the_field(change, field):
    with pytest.raises(ValidationError) as info:
        validate_site(SITE.replace(**change), TODAY)
    assert info.value.field == field
    assert field in str(info.value)


def test_the_canonical_sites_are_valid():
    for site in canonical.SITES:
        validate_site(site, TODAY)


def test_sites_outside_the_six_cities_are_not_checked_against_an_extent():
    validate_site(SITE.replace(city="Stoke-on-Trent", geometry=Point(-2.18, 53.02), district_adcode=None), TODAY)


@pytest.mark.parametrize("survey,field", [
    (Survey("qd-a", date(2024, 1, 1), 4000, 4500, 1, None, "sample"), "occupied_area_m2"),
    (Survey("qd-a", date(2024, 1, 1), 6000, 10, 1, None, "sample"), "leasable_area_m2"),  # more than gross
    (Survey("qd-a", date(2027, 1, 1), 10, 5, 1, None, "sample"), "survey_date"),
    (Survey("qd-a", date(2024, 1, 1), -5, None, 1, None, "sample"), "leasable_area_m2"),
    (Survey("qd-a", date(2024, 1, 1), None, None, None, None, "sample"), "occupied_area_m2"),
    (Survey("qd-a", date(2024, 1, 1), 10, 5, 1, None, "guess"), "data_status"),
])
def test_invalid_survey_names_the_field(survey, field):
    with pytest.raises(ValidationError) as info:
        validate_survey(survey, SITE, TODAY)
    assert (info.value.field, info.value.site_id) == (field, "qd-a")


def test_a_survey_with_only_a_tenant_count_is_valid():
    validate_survey(Survey("qd-a", date(2017, 1, 2), None, None, 40, "news", "reported"), SITE, TODAY)


def test_units_must_fit_the_leasable_area():
    units = [Unit("qd-a", "1", "101", 3000, "leased"), Unit("qd-a", "2", "201", 1500, "leased")]
    with pytest.raises(ValidationError, match="4500"):
        validate_units(SITE, units, TODAY)


def test_unknown_unit_status_names_the_unit():
    with pytest.raises(ValidationError, match="1/101"):
        validate_units(SITE, [Unit("qd-a", "1", "101", 10, "squatted")], TODAY)


def test_candidate_ranking_accepts_a_zero_threshold():
    from sites import vacancy
    from tests.canonical import SITES
    from sites.model import Occupancy
    site = SITES[0].replace(occupancy=Occupancy(date(2024, 1, 1), 4000, 0, 0, "survey", "sample"))
    ranked = vacancy.rank([site], today=TODAY, min_idle_area_m2=0)
    assert ranked[0].score > 0
