"""Who may open the page and how `autolog ui` starts: beyond 127.0.0.1 every page, graph and download needs
the token (printed at start, or the `ui_token` setting); a mistyped home is an error, not a new empty store;
a busy port fails before anything says "ready"; `--help` describes the command."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

from .conftest import Server, get, require

require()  # skip cleanly outside the `ui` env


def pages_of(site, records) -> list[str]:
    ckpt = records["train"]["models"]["output"][0]["id"]
    artifact = records["train"]["artifacts"][0]["id"]
    return [
        "/",
        "/models",
        f"/task/{site['train']}",
        f"/model/{ckpt}",
        f"/lineage/model/{ckpt}.json",
        f"/download/model/{ckpt}",
        f"/artifact/{artifact}",
        f"/download/artifact/{artifact}",
        "/static/style.css",
    ]


def token_of(stderr: str) -> str:
    found = re.search(r"\?token=([A-Za-z0-9_\-]+)", stderr)
    assert found, stderr
    return found.group(1)


def test_beyond_this_machine_a_random_token_is_printed_and_required(site, records, browser) -> None:
    server = Server(site["env"], site["work"], "--host", "0.0.0.0")
    try:
        printed = server.proc.stderr.readline() + server.proc.stderr.readline()  # written before it listens
        token = token_of(printed)
        assert len(token) >= 24 and "needs the token" in printed
        for path in pages_of(site, records):
            status, _h, body = get(server.url + path)
            assert status == 403, path
            assert b"token" in body and b"ckpt" not in body
            assert get(server.url + path + "?token=wrong")[0] == 403, path
            assert get(server.url + path + ("&" if "?" in path else "?") + "token=" + token)[0] == 200, path

        # in a browser: without the token a 403 page, with the printed URL the page and then every link
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        response = page.goto(server.url + "/")
        assert response.status == 403 and "token needed" in page.content()
        url = re.search(r"at (http://\S+)", printed).group(1)
        assert page.goto(url).status == 200
        page.click(f"#tasks a.task-link[href='/task/{site['train']}']")
        page.wait_for_url(f"**/task/{site['train']}")
        assert "train" in page.locator("h1").inner_text()
        context.close()
    finally:
        server.stop()
    # another run makes another token
    again = Server(site["env"], site["work"], "--host", "0.0.0.0")
    try:
        assert token_of(again.proc.stderr.readline() + again.proc.stderr.readline()) != token
    finally:
        again.stop()


def test_the_token_from_the_environment_lets_a_browser_in_and_keeps_it_in(site, records, browser) -> None:
    env = {**site["env"], "AUTOLOG_UI_TOKEN": "team-secret-123"}
    server = Server(env, site["work"], "--host", "0.0.0.0")
    try:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        assert page.goto(server.url + "/?token=nope").status == 403
        assert page.goto(server.url + "/?token=team-secret-123").status == 200
        # the cookie carries it from here: links, the graph's JSON (fetched by script) and downloads
        ckpt = records["train"]["models"]["output"][0]["id"]
        assert page.goto(f"{server.url}/model/{ckpt}").status == 200
        page.wait_for_selector("#lineage[data-ready='1']")
        assert page.locator("#lineage-svg a.node").count() >= 3
        with page.expect_download() as info:
            page.click("#download")
        assert Path(info.value.path()).read_bytes() == (site["work"] / "ckpt.pt").read_bytes()
        assert not errors
        # scripts send it as a header; the page never shows it
        for path in pages_of(site, records):
            assert get(server.url + path)[0] == 403, path
        status, _h, body = get(f"{server.url}/download/model/{ckpt}?token=team-secret-123")
        assert status == 200 and body == (site["work"] / "ckpt.pt").read_bytes()
        context.close()
    finally:
        err = server.stop()
    assert "team-secret-123" not in err  # a configured token is not printed
    assert "?token=" not in err


def test_loopback_needs_no_token(site) -> None:
    assert get(site["url"] + "/")[0] == 200


def test_a_mistyped_home_is_an_error_and_creates_nothing(site, tmp_path: Path) -> None:
    home = tmp_path / "no-such-home"
    env = {**site["env"], "AUTOLOG_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "autolog", "ui", "--port", "9"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "no store at" in proc.stderr and str(home) in proc.stderr and "Traceback" not in proc.stderr
    assert not home.exists()


def test_a_busy_port_fails_before_saying_ready(site, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "autolog", "ui", "--port", str(port)],
            env=site["env"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "--port" in proc.stderr
    assert " at http" not in proc.stderr and "Traceback" not in proc.stderr


def test_help_describes_the_command_and_its_defaults(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "autolog", "ui", "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "read-only web page" in text and "default: 8765" in text and "default: 127.0.0.1" in text
    assert "AUTOLOG_UI_TOKEN" in text
