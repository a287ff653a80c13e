import os
from pathlib import Path

import pytest

from sites.stores import open_store
from tests import canonical

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
STORE_KINDS = ["memory", "gpkg"]


def make_store(kind: str, tmp_path: Path):
    if kind == "memory":
        return open_store("memory://")
    return open_store(str(tmp_path / "inventory.gpkg"), create=True)


@pytest.fixture(params=STORE_KINDS)
def empty_store(request, tmp_path):
    store = make_store(request.param, tmp_path)
    yield store
    store.close()


@pytest.fixture(params=STORE_KINDS)
def store(request, tmp_path):
    s = canonical.load(make_store(request.param, tmp_path))
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _uploads_in_tmp(tmp_path, monkeypatch):
    """Uploads wait in the test's own folder, never in the repository's instance/."""
    monkeypatch.setenv("SITES_UPLOAD_DIR", str(tmp_path / "uploads"))


def require_service(name: str, reason: str):
    """Skip on a developer machine, fail in CI (SITES_REQUIRE_SERVICES=1) when a service is absent."""
    if os.environ.get("SITES_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")
