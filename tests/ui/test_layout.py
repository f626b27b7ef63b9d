"""Every page of `autolog ui` in a real Chromium on a desktop (1366x900) and a phone (390x844): no horizontal
page overflow, every link answers 200, no console error; the go-to box, the models view, the failure reason,
natural project order, long names, dark mode and the favicon."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from urllib.parse import urlsplit

import pytest

from .conftest import build_site, get, read_records, require

require()  # skip cleanly outside the `ui` env

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
LONG_NAME = "sweep_" + "x" * 60 + "_lr0.001_" + "y" * 60

EXTRA = """
    import os, sys
    import torch
    import autolog

    out, train, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    if kind == "reader":  # fetches an artifact of train and loads its checkpoint: two inputs
        task = autolog.init("layout", "reader", output_uri=out)
        autolog.Task.get_task(train).artifacts["config"].get()
        state = torch.load("ckpt.pt")
        os.makedirs("reader", exist_ok=True)
        torch.save({k: v + 1 for k, v in state.items()}, "reader/ckpt.pt")  # another model named ckpt.pt
    elif kind == "fail":
        task = autolog.init("layout", "diverged", output_uri=out)
        print(task.id, flush=True)
        raise FloatingPointError("loss is nan at step 41")
    else:
        task = autolog.init(kind, LONG_NAME)
    print(task.id)
""".replace("LONG_NAME", repr(LONG_NAME))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """A site of this module's own: the records added here (and the downloads crawled) touch no other test."""
    with build_site(tmp_path_factory.mktemp("ui-layout")) as found:
        yield found


@pytest.fixture(scope="module")
def records(site) -> dict:
    return read_records(site)


@pytest.fixture(scope="module")
def more(site) -> dict:
    """More records in the site's store: a task with a model and an artifact input, a failed task, projects
    named project-2 and project-10, and a task with a 130-character name."""

    def run(kind: str, check: bool = True) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(EXTRA), str(site["out"]), site["train"], kind],
            capture_output=True,
            text=True,
            cwd=site["work"],
            env=site["env"],
            timeout=300,
        )
        assert proc.returncode == 0 or not check, proc.stderr
        return proc.stdout.split()[0]

    return {
        "reader": run("reader"),
        "failed": run("fail", check=False),
        "p10": run("project-10"),
        "p2": run("project-2"),
    }


def watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return problems


def crawl_targets(site, records, more) -> list[str]:
    """Every kind of page, and every task, model and artifact page of the site's records."""
    paths = ["/", "/projects", "/models", "/models?sort=size&dir=asc", "/go?to=ckpt.pt"]
    for task_id in (site["train"], site["finetune"], site["local"], more["reader"], more["failed"], more["p10"]):
        paths += [f"/task/{task_id}", f"/task/{task_id}?tab=artifacts", f"/task/{task_id}?tab=lineage"]
    for record in records.values():
        paths += [f"/model/{m['id']}" for kind in ("input", "output") for m in record["models"][kind]]
        paths += [f"/artifact/{a['id']}" for a in record["artifacts"]]
    return list(dict.fromkeys(paths))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_fits_the_screen_and_every_link_answers(site, records, more, browser, viewport, shots) -> None:
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    problems = watch(page)
    links: set[str] = set()
    wide: list[str] = []
    for path in crawl_targets(site, records, more):
        response = page.goto(site["url"] + path)
        assert response is not None and response.status == 200, path
        if page.locator("#lineage").count():
            page.wait_for_selector("#lineage[data-ready='1']")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            wide.append(f"{path}: {overflow}px wider than the screen")
        links.update(page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"))
    assert not wide, wide
    assert not problems, problems
    links = {h for h in links if h.startswith("/") and not h.startswith("//")}
    assert len(links) > 50
    dead = []
    for href in sorted(links):
        status = get(site["url"] + href)[0]
        if status != 200:
            dead.append(f"{href}: {status}")
    assert not dead, dead
    if viewport is PHONE:
        page.goto(site["url"] + "/")
        assert not page.locator("nav.projects ul").is_visible()  # the sidebar is folded away
        page.click("label[for=show-projects]")
        assert page.locator("nav.projects ul").is_visible()
        assert not page.locator("#tasks th.opt").first.is_visible()  # less-needed columns drop
        page.screenshot(path=str(shots / "phone-tasks.png"), full_page=True)
        page.goto(f"{site['url']}/model/{records['train']['models']['output'][0]['id']}")
        shown = page.locator("#model-fields code.id").inner_text()
        assert len(shown) < 20  # the hash, shortened
    context.close()


def test_the_go_to_box_finds_ids_hashes_and_names(site, records, more, page) -> None:
    ckpt = records["train"]["models"]["output"][0]
    config = next(a for a in records["train"]["artifacts"] if a["name"] == "config")

    def go(text: str) -> str:
        page.goto(site["url"] + "/")
        page.fill("#goto", text)
        page.press("#goto", "Enter")
        page.wait_for_load_state("load")
        return urlsplit(page.url).path

    assert go(ckpt["id"]) == f"/model/{ckpt['id']}"  # a full model id
    assert go(ckpt["id"][:10]) == f"/model/{ckpt['id']}"  # a prefix
    assert go(ckpt["hash"][:12]) == f"/model/{ckpt['id']}"  # a content hash prefix
    assert go("sha256:" + ckpt["hash"]) == f"/model/{ckpt['id']}"
    assert go(config["id"]) == f"/artifact/{config['id']}"  # an artifact id
    assert go(config["hash"][:16]) == f"/artifact/{config['id']}"  # an artifact hash prefix
    assert go(site["finetune"][:8]) == f"/task/{site['finetune']}"  # a task id prefix
    assert go("local.pt") == f"/model/{records['local']['models']['output'][0]['id']}"  # a model name
    assert go("no-such-thing") == "/go"
    assert "No task, model or artifact" in page.locator("#go-none").inner_text()
    # a name two models share lists both, newest first
    assert go("ckpt.pt") == "/go"
    hits = [r.get_attribute("data-id") for r in page.locator("#go-hits tbody tr").all()]
    assert len(hits) == 2 and hits[1] == ckpt["id"]
    page.locator("#go-hits a.hit").nth(1).click()
    page.wait_for_url(f"**/model/{ckpt['id']}")


def test_models_view_filters_and_sorts(site, records, more, page, shots) -> None:
    page.goto(site["url"] + "/models?project=demo")
    ids = [r.get_attribute("data-id") for r in page.locator("#models tbody tr").all()]
    expected = {records["train"]["models"]["output"][0]["id"], records["finetune"]["models"]["output"][0]["id"]}
    assert set(ids) == expected and len(ids) == 2
    assert ids[0] == records["finetune"]["models"]["output"][0]["id"]  # newest first
    page.screenshot(path=str(shots / "models.png"), full_page=True)
    page.goto(site["url"] + "/models?framework=pytorch&state=done")
    assert set(ids) <= {r.get_attribute("data-id") for r in page.locator("#models tbody tr").all()}
    page.goto(site["url"] + "/models?state=failed")
    assert "No model matches" in page.locator("#models").inner_text()
    page.goto(site["url"] + "/models?sort=size&dir=asc")
    sizes = page.eval_on_selector_all("#models tbody tr", "rows => rows.map(r => r.dataset.id)")
    by_id = {m["id"]: m["size"] for rec in records.values() for m in rec["models"]["output"]}
    known = [by_id[i] for i in sizes if i in by_id]
    assert known == sorted(known)
    # a user alias (schema v4's aliases table) filters to the one model it names
    chosen = records["train"]["models"]["output"][0]["id"]
    subprocess.run(
        [sys.executable, "-c", f"import autolog; autolog.Model.get({chosen!r}).set_alias('production')"],
        env=site["env"],
        cwd=site["work"],
        check=True,
        timeout=120,
    )
    page.goto(site["url"] + "/models?alias=production")
    assert [r.get_attribute("data-id") for r in page.locator("#models tbody tr").all()] == [chosen]
    page.goto(site["url"] + "/models?alias=nobody")
    assert "No model matches" in page.locator("#models").inner_text()
    # the filter form round-trips through the URL
    page.goto(site["url"] + "/models")
    page.fill("#model-filters input[name=project]", "local")
    page.click("#model-filters button")
    assert [r.get_attribute("data-id") for r in page.locator("#models tbody tr").all()] == [
        records["local"]["models"]["output"][0]["id"]
    ]


def test_failed_task_shows_its_reason_everywhere(site, more, page) -> None:
    page.goto(f"{site['url']}/task/{more['failed']}")
    assert "FloatingPointError: loss is nan at step 41" in page.locator("#failure").inner_text()
    assert "FloatingPointError: loss is nan at step 41" in page.locator("#failure-reason").inner_text()
    page.goto(f"{site['url']}/?project=layout&status=failed")
    assert "loss is nan" in page.locator(f"#tasks tr[data-id='{more['failed']}']").inner_text()


def test_table_details(site, more, page) -> None:
    # projects in natural order, the input count with the fetched artifact, long names wrap
    page.goto(site["url"] + "/")
    names = page.locator("nav.projects li a.name").all_inner_texts()
    assert names.index("project-2") < names.index("project-10")
    page.goto(site["url"] + "/?project=layout")
    cells = page.locator(f"#tasks tr[data-id='{more['reader']}'] td.num")
    assert cells.first.inner_text() == "2"  # one model loaded + one artifact fetched
    page.goto(site["url"] + "/?project=project-10")
    cell = page.locator(f"#tasks tr[data-id='{more['p10']}'] td.name a.task-link")
    assert cell.inner_text() == LONG_NAME
    assert cell.bounding_box()["width"] < 420  # wrapped, not stretching the table
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_dark_mode_and_favicon(site, browser) -> None:
    context = browser.new_context(viewport=DESKTOP, color_scheme="dark")
    page = context.new_page()
    page.goto(site["url"] + "/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    channels = [int(c) for c in re.findall(r"\d+", background)[:3]]
    assert max(channels) < 60, background
    context.close()
    status, headers, _body = get(site["url"] + "/favicon.ico")
    assert status == 301 and headers["location"] == "/static/favicon.svg"
    status, headers, body = get(site["url"] + "/static/favicon.svg")
    assert status == 200 and headers["content-type"].startswith("image/svg+xml") and b"<svg" in body


def test_graph_on_a_phone_keeps_labels_readable_and_follows_touch(site, records, browser, shots) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    problems = watch(page)
    finetuned = records["finetune"]["models"]["output"][0]["id"]
    page.goto(f"{site['url']}/model/{finetuned}?depth=2")
    page.wait_for_selector("#lineage[data-ready='1']")
    assert page.locator("#depth").input_value() == "2"  # the depth came from the URL
    label = 'document.querySelector("#lineage-svg a.node text:not(.sub)").getBoundingClientRect().height'
    assert page.evaluate(label) >= 10  # the graph is wider than the phone: it pans, labels stay readable

    page.locator("#lineage").scroll_into_view_if_needed()
    cdp = context.new_cdp_session(page)
    box = page.locator("#lineage").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def touch(kind: str, *points: tuple[float, float]) -> None:
        cdp.send(
            "Input.dispatchTouchEvent",
            {"type": kind, "touchPoints": [{"x": x, "y": y, "id": n} for n, (x, y) in enumerate(points)]},
        )

    def view() -> list[float]:
        return [float(v) for v in page.locator("#lineage-svg").get_attribute("viewBox").split()]

    before = view()
    touch("touchStart", (cx, cy))
    for step in range(1, 6):
        touch("touchMove", (cx - 20 * step, cy))
    touch("touchEnd")
    after = view()
    assert after[0] > before[0] + 50 and after[2] == pytest.approx(before[2])  # panned, same zoom
    assert "focus=" in page.url  # the node now in the middle goes into the URL

    scale = float(page.locator("#lineage").get_attribute("data-scale"))
    touch("touchStart", (cx - 40, cy), (cx + 40, cy))
    for step in range(1, 6):
        touch("touchMove", (cx - 40 - 12 * step, cy), (cx + 40 + 12 * step, cy))
    touch("touchEnd")
    assert float(page.locator("#lineage").get_attribute("data-scale")) > scale * 1.5  # pinched open
    page.screenshot(path=str(shots / "phone-lineage.png"), full_page=True)
    # and a tap on a node still opens it
    page.goto(f"{site['url']}/model/{finetuned}?focus=t:{site['train']}")
    page.wait_for_selector("#lineage[data-ready='1']")
    page.locator(f"#lineage-svg a.node[data-id='t:{site['train']}']").tap()
    page.wait_for_url(f"**/task/{site['train']}")
    assert not problems, problems
    context.close()
