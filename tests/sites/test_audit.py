"""The audit trail, on every store: each change is one entry, written in the same transaction."""

from datetime import date, datetime, timedelta, timezone

import pytest
from shapely.geometry import Point

from sites.audit import Actor, ChangeFilter
from sites.errors import Conflict, FilterError, ValidationError
from sites.model import Survey, Unit
from sites.query import Query, build_query, queryables_schema

ALICE = Actor("alice", "form")


def entries(store, **kw):
    return store.changes(ChangeFilter(limit=None, **kw))[0]


def test_loading_records_one_create_per_site_and_one_entry_per_survey_and_unit_list(store):
    from tests import canonical
    creates = entries(store, action="create")
    assert sorted(c.site_id for c in creates) == sorted(s.id for s in canonical.SITES)
    assert len(entries(store, action="survey")) == len(canonical.SURVEYS)
    assert [c.site_id for c in entries(store, action="units")] == list(canonical.UNITS)


def test_an_edit_records_who_when_channel_and_only_the_changed_fields(store):
    before_count = store.changes()[1]
    site = store.get("qd-a")
    with store.transaction(ALICE) as tx:
        tx.put_site(site.replace(name_en="Hailiao", floors=5))
    [change], total = store.changes(ChangeFilter(limit=1))
    assert total == before_count + 1
    assert (change.user, change.channel, change.action, change.site_id) == ("alice", "form", "update", "qd-a")
    assert change.before == {"name_en": "Hailiao Garment Factory", "floors": None}
    assert change.after == {"name_en": "Hailiao", "floors": 5}
    assert change.version == site.version + 1
    assert abs(change.at - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert change.fields() == [("name_en", "Hailiao Garment Factory", "Hailiao"), ("floors", None, 5)]


def test_a_new_site_records_its_whole_record(store):
    from tests import canonical
    site = canonical.SITES[0].replace(id="qd-new", name_zh="<script>alert(1)</script>", geometry=Point(120.1, 36.1))
    with store.transaction(ALICE) as tx:
        tx.put_site(site)
    [change] = entries(store, site_id="qd-new")
    assert change.action == "create" and change.before is None
    assert change.after["name_zh"] == "<script>alert(1)</script>"
    assert change.after["geometry"] == "POINT (120.1 36.1)"


def test_retiring_is_its_own_action(store):
    with store.transaction(ALICE) as tx:
        tx.put_site(store.get("qd-c").replace(status="retired"))
    [change] = entries(store, site_id="qd-c", action="retire")
    assert (change.before, change.after) == ({"status": "operating"}, {"status": "retired"})


def test_a_survey_records_the_replaced_survey_as_before(store):
    with store.transaction(ALICE) as tx:
        tx.put_survey(Survey("qd-b", date(2024, 1, 1), 8000, 4000, 9, "corrected", "sample"))
    [change] = entries(store, site_id="qd-b", action="survey", user="alice")
    assert change.subject == "2024-01-01"
    assert change.before["occupied_area_m2"] == 6000 and change.after["occupied_area_m2"] == 4000


def test_units_record_the_whole_list_before_and_after(store):
    with store.transaction(ALICE) as tx:
        tx.set_units("qd-d", [Unit("qd-d", "1F", "101", 1000, "leased", "乙公司")])
    [change] = entries(store, site_id="qd-d", user="alice")
    assert change.action == "units"
    assert len(change.before) == 3 and change.after == [
        {"floor": "1F", "unit_label": "101", "area_m2": 1000, "status": "leased", "tenant": "乙公司", "updated_on": None}]


def test_unchanged_writes_record_nothing(store):
    total = store.changes()[1]
    with store.transaction(ALICE) as tx:
        tx.put_site(store.get("qd-a"))
        tx.put_survey(store.surveys("qd-a")[0])
        tx.set_units("qd-d", store.units("qd-d"))
    assert store.changes()[1] == total


def test_a_failed_transaction_records_nothing(store):
    total = store.changes()[1]
    with pytest.raises(ValidationError):
        with store.transaction(ALICE) as tx:
            tx.put_site(store.get("qd-a").replace(floors=7))
            tx.put_site(store.get("qd-b").replace(status="nonsense"))
    assert store.changes()[1] == total
    assert store.get("qd-a").floors is None


def test_a_stale_version_records_nothing(store):
    site = store.get("qd-a")
    total = store.changes()[1]
    with pytest.raises(Conflict):
        with store.transaction(ALICE) as tx:
            tx.put_site(site.replace(floors=2), expected_version=site.version - 1)
    assert store.changes()[1] == total


def test_one_transaction_shares_a_batch_and_filters_work(store):
    with store.transaction(Actor("bob", "upload")) as tx:
        tx.put_site(store.get("qd-a").replace(floors=3))
        tx.put_site(store.get("qd-b").replace(floors=4))
    mine = entries(store, user="bob")
    assert [c.site_id for c in mine] == ["qd-b", "qd-a"]  # newest first
    assert len({c.batch for c in mine}) == 1
    assert entries(store, batch=mine[0].batch) == mine
    assert entries(store, channel="upload") == mine
    page, total = store.changes(ChangeFilter(user="bob", limit=1, offset=1))
    assert ([c.site_id for c in page], total) == (["qd-a"], 2)
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert entries(store, since=future) == [] and len(entries(store, until=future, user="bob")) == 2


def test_the_default_actor_is_the_command_line_user(store):
    with store.transaction() as tx:
        tx.put_site(store.get("qd-a").replace(floors=9))
    [change] = store.changes(ChangeFilter(limit=1))[0]
    assert change.channel == "cli" and change.user


def test_an_actor_names_a_known_channel():
    with pytest.raises(ValidationError, match="channel|form"):
        Actor("x", "telepathy")


# --- confidential fields are unknown to those who may not see them
HIDDEN = frozenset({"rent_cny_per_m2_day", "operator_contact"})


@pytest.mark.parametrize("params", [{"filter": "rent_cny_per_m2_day < 2"}, {"sortby": "-rent_cny_per_m2_day"},
                                    {"filter": '{"op": "<", "args": [{"property": "operator_contact"}, "x"]}',
                                     "filter_lang": "cql2-json"}])
def test_hidden_fields_cannot_be_filtered_or_sorted(params):
    with pytest.raises(FilterError, match="unknown property"):
        build_query(params, hidden=HIDDEN)
    build_query(params)  # but they can by those who may see them


def test_hidden_fields_leave_the_queryables():
    assert "rent_cny_per_m2_day" in queryables_schema()["properties"]
    assert not HIDDEN & set(queryables_schema(hidden=HIDDEN)["properties"])


def test_filtering_by_rent_works_for_those_who_may(store):
    ids = {s.id for s in store.query(build_query({"filter": "rent_cny_per_m2_day < 2"})).sites}
    assert "qd-a" in ids and isinstance(Query(), Query)
