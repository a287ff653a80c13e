import pytest

from sites.stores import open_store
from tests import canonical
from web import create_app


@pytest.fixture
def gpkg_path(tmp_path):
    path = tmp_path / "inventory.gpkg"
    canonical.load(open_store(str(path), create=True)).close()
    return path


@pytest.fixture
def app(gpkg_path):
    return create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(gpkg_path, tmp_path):
    """The app on a free loopback port in its own process, for real HTTP clients (see liveserver.py)."""
    from tests.web import liveserver

    proc, url = liveserver.start(str(gpkg_path), tmp_path)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
