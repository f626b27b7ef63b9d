"""`autolog ui` safety: ids are validated, unknown ids are 404 pages, no request names a path, nothing writes,
and the page listens on this machine only unless told otherwise (beyond it, a token: test_access.py)."""

from __future__ import annotations

import pytest

from .conftest import Server, get, require

require()  # skip cleanly outside the `ui` env

PASSWD = b"root:x:0:0"


@pytest.mark.parametrize(
    "path",
    [
        "/task/zzzz",
        "/task/00000000000000000000000000000000",
        "/task/abc",
        "/task/" + "a" * 33,
        "/model/NOTHEX12",
        "/model/00000000",
        "/artifact/ffffffffffffffffffffffffffffffff",
        "/lineage/model/00000000.json",
        "/lineage/user/00000000.json",
        "/download/model/00000000000000000000000000000000",
        "/download/secret/00000000",
        "/no/such/page",
    ],
)
def test_unknown_or_malformed_ids_are_404_pages(site, path: str) -> None:
    status, headers, body = get(site["url"] + path)
    assert status == 404, body
    assert headers["content-type"].startswith("text/html")
    assert b"Not found" in body and b"Traceback" not in body


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/..%2fapp.py",
        "/download/artifact/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/download/model/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/artifact/..%2F..%2Fhome/thumbnail.png",
        "/download/artifact/%2Fetc%2Fpasswd",
    ],
)
def test_no_request_can_name_a_path(site, path: str) -> None:
    status, _headers, body = get(site["url"] + path)
    assert status in (400, 404), (status, body[:200])
    assert PASSWD not in body and b"create_app" not in body


def test_an_id_of_the_wrong_kind_is_404(site, records) -> None:
    model_id = records["train"]["models"]["output"][0]["id"]
    assert get(f"{site['url']}/task/{model_id}")[0] == 404
    assert get(f"{site['url']}/download/artifact/{model_id}")[0] == 404
    assert get(f"{site['url']}/lineage/task/{model_id}.json")[0] == 404


def test_an_id_prefix_redirects_to_the_full_id(site, page) -> None:
    status, headers, _body = get(f"{site['url']}/task/{site['train'][:8]}?tab=artifacts")
    assert status == 307 and headers["location"] == f"/task/{site['train']}?tab=artifacts"
    response = page.goto(f"{site['url']}/task/{site['train'][:10]}")
    assert response.status == 200 and page.url.endswith(f"/task/{site['train']}")
    response = page.goto(f"{site['url']}/model/0123456789abcdef")
    assert response.status == 404 and "no model with id" in page.locator("#error-message").inner_text()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_no_endpoint_writes(site, records, method: str) -> None:
    model_id = records["train"]["models"]["output"][0]["id"]
    for path in ("/", f"/task/{site['train']}", f"/model/{model_id}", f"/download/model/{model_id}", "/tasks/status"):
        assert get(site["url"] + path, method=method)[0] == 405, (method, path)


def test_headers_refuse_framing_scripts_from_elsewhere_and_foreign_hosts(site) -> None:
    status, headers, _body = get(site["url"] + "/")
    assert status == 200
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["server-timing"].startswith("app;dur=")
    import urllib.request

    request = urllib.request.Request(site["url"] + "/", headers={"Host": "evil.example"})
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("a request for another host name was served (DNS rebinding)")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400


def outside_address() -> str | None:
    """This machine's address on its network (no packet is sent), or None when it has only loopback."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_loopback_is_the_default(site) -> None:
    import socket

    address = outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to try")
    server = Server(site["env"], site["work"])
    try:
        assert get(server.url + "/")[0] == 200
        with pytest.raises(OSError):
            socket.create_connection((address, server.port), timeout=3).close()
    finally:
        err = server.stop()
    assert "WARNING" not in err and "127.0.0.1" in err


def test_open_hands_the_url_to_the_browser(site, tmp_path) -> None:
    opened = tmp_path / "opened"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    server = Server({**site["env"], "BROWSER": str(browser)}, site["work"], "--open")
    try:
        import time

        deadline = time.monotonic() + 20
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened.read_text().strip() == server.url + "/"
    finally:
        server.stop()


def test_text_from_the_request_or_the_records_is_escaped(site) -> None:
    status, _headers, body = get(site["url"] + "/?q=%3Cscript%3Ealert(1)%3C/script%3E&tag=%22%3E%3Cimg%20src=x%3E")
    assert status == 200
    assert b"<script>alert(1)" not in body and b"<img src=x>" not in body
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in body
