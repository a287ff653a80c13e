"""The store contract, on every store: reads, occupancy, versions, transactions."""

from datetime import date

import pytest
from shapely.geometry import Point

from sites.errors import Conflict, NotFound, ValidationError
from sites.model import Survey, Unit
from sites.query import Query
from tests import canonical


def test_get_returns_the_site_with_its_current_occupancy(store):
    site = store.get("qd-b")
    assert (site.name_zh, site.survey_date, site.occupied_area_m2) == ("春峰里", date(2024, 1, 1), 6000)
    assert site.vacancy_rate == pytest.approx(0.25)
    assert site.idle_area_m2 == pytest.approx(2000)


def test_get_unknown_site_is_not_found(store):
    with pytest.raises(NotFound, match="nope"):
        store.get("nope")


def test_units_take_precedence_over_surveys(store):
    site = store.get("qd-d")
    assert site.occupancy_basis == "units"
    assert (site.occupancy.leasable_area_m2, site.occupied_area_m2, site.tenant_count) == (1000, 700, 2)
    assert site.survey_date == date(2024, 7, 1)


def test_site_without_surveys_has_unknown_vacancy(store):
    site = store.get("qd-e")
    assert (site.occupancy, site.vacancy_rate, site.idle_area_m2) == (None, None, None)


def test_surveys_come_oldest_first(store):
    assert [s.survey_date for s in store.surveys("qd-b")] == [date(2023, 1, 1), date(2024, 1, 1)]


def test_a_new_survey_changes_the_current_occupancy(store):
    with store.transaction() as tx:
        tx.put_survey(Survey("qd-b", date(2025, 1, 1), 8000, 8000, 20, "test", "sample"))
    assert store.get("qd-b").vacancy_rate == 0.0


def test_a_survey_on_the_same_date_replaces_the_old_one(store):
    with store.transaction() as tx:
        tx.put_survey(Survey("qd-b", date(2024, 1, 1), 8000, 4000, 9, "corrected", "sample"))
    surveys = store.surveys("qd-b")
    assert [(s.survey_date, s.occupied_area_m2) for s in surveys] == [(date(2023, 1, 1), 2000), (date(2024, 1, 1), 4000)]


def test_every_write_bumps_the_version_and_unchanged_writes_do_not(store):
    site = store.get("qd-a")
    with store.transaction() as tx:
        tx.put_site(site.replace(status="idle"))  # unchanged
    assert store.get("qd-a").version == site.version
    with store.transaction() as tx:
        tx.put_site(site.replace(status="renovating"))
    assert store.get("qd-a").version == site.version + 1


def test_a_stale_version_is_refused_and_nothing_changes(store):
    site = store.get("qd-a")
    with store.transaction() as tx:
        tx.put_site(site.replace(status="renovating"), expected_version=site.version)
    with pytest.raises(Conflict, match="qd-a"):
        with store.transaction() as tx:
            tx.put_site(site.replace(status="operating"), expected_version=site.version)
    assert store.get("qd-a").status == "renovating"


def test_a_failed_transaction_leaves_the_store_as_it_was(store):
    before = [(s.id, s.version, s.status) for s in store.query(Query()).sites]
    with pytest.raises(ValidationError):
        with store.transaction() as tx:
            tx.put_site(store.get("qd-a").replace(status="operating"))
            tx.put_site(canonical.SITES[0].replace(id="qd-new", name_zh="新"))
            tx.put_site(canonical.SITES[0].replace(id="qd-bad", city="西安市"))  # Qingdao point, Xi'an city
    after = [(s.id, s.version, s.status) for s in store.query(Query()).sites]
    assert after == before


def test_shrinking_a_site_below_its_surveys_is_refused_at_commit(store):
    site = store.get("qd-b")
    with pytest.raises(ValidationError, match="gross floor area"):
        with store.transaction() as tx:
            tx.put_site(site.replace(gross_floor_area_m2=5000, leasable_area_m2=5000))
    assert store.get("qd-b").gross_floor_area_m2 == 10000


def test_survey_for_unknown_site_is_refused(store):
    with pytest.raises(ValidationError, match="no such site"):
        with store.transaction() as tx:
            tx.put_survey(Survey("nope", date(2024, 1, 1), 10, 5, 1, None, "sample"))


def test_units_replace_the_old_ones(store):
    with store.transaction() as tx:
        tx.set_units("qd-d", [Unit("qd-d", "1F", "101", 1000, "vacant_available", None, date(2024, 8, 1))])
    site = store.get("qd-d")
    assert (len(store.units("qd-d")), site.vacancy_rate) == (1, 1.0)
    with store.transaction() as tx:
        tx.set_units("qd-d", [])
    assert store.get("qd-d").occupancy_basis == "survey"  # back to the latest survey


def test_units_larger_than_the_site_are_refused(store):
    with pytest.raises(ValidationError, match="units add up"):
        with store.transaction() as tx:
            tx.set_units("qd-d", [Unit("qd-d", "1F", "101", 900, "leased"), Unit("qd-d", "2F", "201", 900, "leased")])
    assert len(store.units("qd-d")) == 3


def test_duplicate_unit_labels_are_refused(store):
    with pytest.raises(ValidationError, match="appears twice"):
        with store.transaction() as tx:
            tx.set_units("qd-d", [Unit("qd-d", "1F", "101", 100, "leased"), Unit("qd-d", "1F", "101", 100, "leased")])


def test_geometry_round_trips_exactly(store):
    assert store.get("nj-h").geometry.equals(canonical.SITES[7].geometry)
    assert store.get("qd-a").geometry.equals(Point(120.38, 36.07))


def test_districts_by_adcode_or_name(store):
    assert store.district("市南区").adcode == "370202"
    assert store.district("370213").name == "李沧区"
    with pytest.raises(NotFound, match="nowhere"):
        store.district("nowhere")


def test_chinese_and_markup_survive_verbatim(store):
    name = "<script>alert('x')</script> ' OR 1=1 -- 测试"
    with store.transaction() as tx:
        tx.put_site(store.get("qd-a").replace(name_zh=name, aliases=("别名;一", "二")))
    site = store.get("qd-a")
    assert (site.name_zh, site.aliases) == (name, ("别名;一", "二"))


def test_occupancy_carries_its_own_data_status(store):
    assert store.get("qd-c").occupancy_data_status == "reported"  # its survey is reported
    assert store.get("qd-d").occupancy_data_status == "sample"  # from units: the site's own status
    assert store.get("qd-e").occupancy_data_status is None


def test_a_coordinate_differing_in_the_17th_digit_is_not_a_change(store):
    site = store.get("qd-a")
    with store.transaction() as tx:
        tx.put_site(site.replace(geometry=Point(120.38 + 1e-13, 36.07)))
    assert store.get("qd-a").version == site.version


def test_the_fast_properties_equal_the_schema_definition(store):
    """schema.site_properties is hand-tuned for the API; it must say what FIELDS say."""
    from sites import schema
    for site in store.query(Query()).sites:
        generic = {f.name: schema.to_json_value(getattr(site, f.name)) for f in schema.FIELDS}
        p = site.representative_point()
        generic["lon"], generic["lat"] = round(p.x, 7), round(p.y, 7)
        assert schema.site_properties(site) == generic
