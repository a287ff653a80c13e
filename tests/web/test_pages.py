"""The app's page for browsers (the map replaces it in the map issue)."""

HTML = {"Accept": "text/html"}


def test_the_page_lists_the_sites_with_the_status_of_their_figures(client):
    html = client.get("/?city=青岛市", headers=HTML).get_data(as_text=True)
    assert "春峰里" in html and "倍格硅谷" not in html
    assert "5 个载体" in html


def test_values_from_data_are_escaped(client, app):
    store = app.extensions["get_store"]()
    with store.transaction() as tx:
        tx.put_site(store.get("qd-a").replace(name_zh="<script>alert(1)</script>"))
    html = client.get("/", headers=HTML).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_a_bad_filter_is_a_400_page_naming_it(client):
    r = client.get("/?vacancy_min=abc", headers=HTML)
    assert r.status_code == 400 and r.mimetype == "text/html"
    assert "vacancy_min" in r.get_data(as_text=True)
