"""``python -m sites`` as a planner runs it: real processes for the commands, the
in-process entry point for the long filter table (same code path, no process start)."""

import json
import os
import subprocess
import sys

import pytest

from sites import cli
from sites.stores import open_store
from tests import canonical
from tests.conftest import REPO
from tests.sites.test_query_table import CASES


def run(*args, store, check=None):
    env = {**os.environ, "SITES_STORE_URL": str(store)}
    r = subprocess.run([sys.executable, "-m", "sites", *args], cwd=REPO, env=env, capture_output=True, text=True)
    if check is not None:
        assert r.returncode == check, r.stderr
    return r


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "sites.gpkg"
    run("init", store=path, check=0)
    return path


@pytest.fixture
def canonical_gpkg(tmp_path):
    path = tmp_path / "canonical.gpkg"
    canonical.load(open_store(str(path), create=True)).close()
    return path


def test_init_builds_the_store_from_geodata(seeded):
    sites = json.loads(run("list", "--json", store=seeded, check=0).stdout)
    ids = {s["id"] for s in sites}
    assert {"qd-yunxin", "qd-chunfengli", "xa-bege-hongfu", "nj-qinhuai-silicon-alley",
            "hz-chengxi-corridor", "nb-yongjiang-corridor", "cd-hi-tech-zone"} <= ids
    yunxin = next(s for s in sites if s["id"] == "qd-yunxin")
    for key in ("name_zh", "status", "vacancy_rate", "idle_area_m2", "data_status", "location_precision",
                "occupancy_data_status", "lon", "lat"):
        assert key in yunxin
    assert yunxin["address_zh"] == "青岛市市南区延安三路109号"


def test_init_refuses_to_overwrite_and_if_missing_is_quiet(seeded):
    r = run("init", store=seeded, check=2)
    assert "--force" in r.stderr
    assert "exists" in run("init", "--if-missing", store=seeded, check=0).stdout


def test_list_filters_and_prints_a_table(seeded):
    out = run("list", "--city", "青岛市", "--status", "partly_idle", store=seeded, check=0).stdout
    assert "qd-chunfengli" in out and "春峰里" in out and "qd-yunxin" not in out
    assert out.strip().endswith("1 sites")


def test_query_with_cql(seeded):
    sites = json.loads(run("query", "--cql", "name_zh LIKE '%硅%'", "--json", store=seeded, check=0).stdout)
    assert {s["id"] for s in sites} >= {"nj-qinhuai-silicon-alley", "xa-bege-hongfu"}


@pytest.mark.parametrize("args,named", [
    (["list", "--vacancy-min", "2"], "vacancy_min"),
    (["list", "--cql", "floors >"], "filter"),
    (["list", "--cql", "nothing = 1"], "nothing"),
    (["list", "--bbox", "1,2"], "bbox"),
    (["list", "--status", "idel"], "idel"),
    (["show", "no-such-site"], "no-such-site"),
])
def test_bad_input_exits_2_with_one_line_naming_it(seeded, args, named):
    r = run(*args, store=seeded, check=2)
    assert named in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert r.stdout == ""


def test_show_prints_surveys_and_units(seeded):
    out = run("show", "qd-chunfengli", store=seeded, check=0).stdout
    assert "香港西路20号" in out and "surveys (3)" in out and "units" in out
    data = json.loads(run("show", "qd-yunxin", "--json", store=seeded, check=0).stdout)
    assert [s["survey_date"] for s in data["surveys"]] == ["2024-05-15", "2025-05-15", "2026-09-30"]


def test_stats_by_city_and_district(seeded):
    rows = json.loads(run("stats", "--json", store=seeded, check=0).stdout)
    qingdao = next(r for r in rows if r["city"] == "青岛市" and r["district"] is None)
    shinan = next(r for r in rows if r["city"] == "青岛市" and r["district"] == "市南区")
    assert qingdao["sites"] >= shinan["sites"] >= 2
    assert 0 <= shinan["vacancy_rate"] <= 1


def test_missing_store_is_a_clear_error(tmp_path):
    r = run("list", store=tmp_path / "none.gpkg", check=2)
    assert "python -m sites init" in r.stderr


def _flags(params):
    out = []
    for name, value in params.items():
        flag = "--" + name.replace("_", "-")
        out += [flag] if name == "include_retired" else [f"{flag}={value}"]
    return out


@pytest.mark.parametrize("params,expected", CASES, ids=[json.dumps(c[0], ensure_ascii=False)[:70] for c in CASES])
def test_the_filter_table_through_the_cli(canonical_gpkg, capsys, params, expected):
    assert cli.main(["--store", str(canonical_gpkg), "list", "--json", *_flags(params)]) == 0
    assert [s["id"] for s in json.loads(capsys.readouterr().out)] == expected
