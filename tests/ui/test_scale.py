"""A lineage of thousands of nodes stays usable: big neighbourhoods collapse into "+N more" nodes that link to
the full lists, the depth control bounds the walk, and the task table pages through many tasks."""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest

from .conftest import Server, get, require

require()  # skip cleanly outside the `ui` env


def big_store(url: str) -> dict:
    """A task with 1,500 snapshots; one of them loaded by 1,200 tasks; a 30-generation chain; 120 projects more."""
    from autolog.store import schema
    from autolog.store.sql import SqlStore

    store = SqlStore(url)
    now = time.time() - 10_000
    ids = {"hub": uuid.uuid4().hex}

    def task(tid: str, name: str, n: int, project: str = "scale") -> dict:
        return {
            "id": tid,
            "project": project,
            "name": name,
            "status": "completed",
            "tags": "[]",
            "started": now + n,
            "ended": now + n + 1,
        }

    def model(mid: str, tid: str, seq: int, name: str) -> dict:
        return {
            "id": mid,
            "task_id": tid,
            "seq": seq,
            "name": name,
            "framework": "pytorch",
            "size": 10,
            "hash": uuid.uuid4().hex * 2,
            "created": now + seq,
            "upload_state": "done",
            "is_dir": False,
            "error": None,
            "local_path": None,
            "dest_uri": None,
        }

    tasks, models, inputs = [task(ids["hub"], "hub", 0)], [], []
    snapshots = [uuid.uuid4().hex for _ in range(1500)]
    models += [model(mid, ids["hub"], n, f"epoch-{n}.pt") for n, mid in enumerate(snapshots)]
    ids["popular"] = snapshots[-1]
    for n in range(1200):
        tid = uuid.uuid4().hex
        tasks.append(task(tid, f"eval-{n}", n + 1))
        inputs.append({"task_id": tid, "model_id": snapshots[-1], "seq": 0, "created": now + n})
    previous = snapshots[0]
    for g in range(30):
        tid, mid = uuid.uuid4().hex, uuid.uuid4().hex
        tasks.append(task(tid, f"gen-{g}", 2000 + g, "chain"))
        inputs.append({"task_id": tid, "model_id": previous, "seq": 0, "created": now + 2000 + g})
        models.append(model(mid, tid, 0, f"gen-{g}.pt"))
        previous = mid
    ids["chain_end"] = previous
    tasks += [task(uuid.uuid4().hex, "sweep", 3000 + n, f"p-{n:03d}") for n in range(120)]
    ids["flaky"] = uuid.uuid4().hex  # a task whose uploads are stuck: the page says so plainly
    tasks.append(task(ids["flaky"], "flaky", 4000))
    models.append(
        {
            **model(uuid.uuid4().hex, ids["flaky"], 0, "late.pt"),
            "upload_state": "pending",
            "hash": None,
            "local_path": "/data/late.pt",
            "dest_uri": "s3://bucket/flaky/late.pt",
        }
    )
    models.append(
        {
            **model(uuid.uuid4().hex, ids["flaky"], 1, "lost.pt"),
            "upload_state": "failed",
            "error": "PermissionError: s3://bucket/x: Access Denied",
        }
    )
    with store.engine.begin() as conn:
        conn.execute(schema.tasks.insert(), tasks)
        conn.execute(schema.models.insert(), models)
        conn.execute(schema.model_inputs.insert(), inputs)
    store.close()
    ids["tasks"] = len(tasks)
    return ids


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """A fresh empty store: an SQLite file, or a new database on the PostgreSQL server the tests were given."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'big.db'}"
        return
    server = os.environ.get("AUTOLOG_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("no PostgreSQL server: AUTOLOG_TEST_POSTGRES_URL (set by .ci/run)")
    pytest.importorskip("psycopg")
    import sqlalchemy as sa

    from autolog.store.sql import _normalize_url

    name = f"autolog_ui_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_normalize_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def test_thousands_of_nodes_collapse_and_stay_usable(site, page, shots, store_url) -> None:
    url = store_url
    ids = big_store(url)
    server = Server({**site["env"], "AUTOLOG_TRACKING_URI": url}, site["work"])
    try:
        status, _h, body = get(f"{server.url}/lineage/model/{ids['popular']}.json?depth=12")
        graph = json.loads(body)
        assert status == 200 and len(graph["nodes"]) <= graph["max_nodes"]
        more = {n["label"] for n in graph["nodes"] if n["kind"] == "more"}
        assert "+1188 more consumers" in more  # 1,200 consumers: 12 drawn, the rest one link away

        page.goto(f"{server.url}/task/{ids['hub']}?tab=lineage")
        page.wait_for_selector("#lineage[data-ready='1']", timeout=30000)
        labels = page.locator("#lineage-svg a.node.more").all_text_contents()
        assert any("+1488 more snapshots" in text for text in labels)
        assert page.locator("#lineage-svg a.node").count() < 400
        page.screenshot(path=str(shots / "lineage-collapsed.png"), full_page=True)
        # too big to show at a readable size: the view centres on the task; ?focus= centres it on a node
        assert float(page.locator("#lineage").get_attribute("data-scale")) >= 0.9
        more_id = f"more:t:{ids['hub']}:snapshots"
        page.goto(f"{server.url}/task/{ids['hub']}?tab=lineage&focus={more_id}")
        page.wait_for_selector("#lineage[data-ready='1']", timeout=30000)
        page.locator("#lineage-svg a.node.more", has_text="snapshots").click()  # opens the list it counts
        page.wait_for_url(f"**/task/{ids['hub']}?tab=artifacts#outputs")
        assert page.locator("#output-models").is_visible()
        assert "of 1500" in page.locator("#outputs-pager").inner_text()

        # the depth control bounds a 30-generation chain
        page.goto(f"{server.url}/model/{ids['chain_end']}")
        page.wait_for_selector("#lineage[data-ready='1']")
        deep = page.locator("#lineage-svg a.node.task").count()
        page.select_option("#depth", "2")
        page.wait_for_selector("#lineage[data-ready='1']")
        assert page.locator("#lineage-svg a.node.task").count() == 2 < deep

        # the hub's Artifacts tab lists its snapshots in call order, 100 a page (keyset), and says how many
        page.goto(f"{server.url}/task/{ids['hub']}?tab=artifacts")
        assert "snapshots #0–#99 of 1500" in page.locator("#outputs-pager").inner_text()
        assert page.locator("#output-models tbody tr").count() == 100
        assert page.locator("#output-models tbody tr a.model-link").first.inner_text() == "epoch-0.pt"
        page.click("#outputs-pager a[rel=next]")
        page.wait_for_url("**after=99**")
        assert page.locator("#output-models tbody tr a.model-link").first.inner_text() == "epoch-100.pt"
        page.click("#outputs-pager a:text('last »')")
        page.wait_for_url("**last=1**")
        names = page.locator("#output-models tbody tr a.model-link").all_inner_texts()
        assert len(names) == 100 and names[0] == "epoch-1400.pt" and names[-1] == "epoch-1499.pt"
        page.click("#outputs-pager a[rel=prev]")
        page.wait_for_url("**before=1400**")
        assert page.locator("#output-models tbody tr a.model-link").first.inner_text() == "epoch-1300.pt"
        # the popular snapshot says who used it: 5 tasks by name and "+1195 more" to the full list
        page.goto(f"{server.url}/task/{ids['hub']}?tab=artifacts&last=1")
        used = page.locator(f"#output-models tr[data-id='{ids['popular']}'] td.used-by")
        assert used.locator("a.consumer-link").count() == 5 and "+1195 more" in used.inner_text()

        # "+N more consumers" opens the model's list of them, 100 a page
        page.goto(f"{server.url}/model/{ids['popular']}?depth=1&focus=more:m:{ids['popular']}:consumers")
        page.wait_for_selector("#lineage[data-ready='1']", timeout=30000)
        page.locator("#lineage-svg a.node.more", has_text="consumers").click()
        page.wait_for_url(f"**/model/{ids['popular']}#consumers")
        assert "1–100 of 1200" in page.locator("#consumers-pager").inner_text()
        assert page.locator("ul.consumers a.consumer-link").count() == 100

        # the models view pages through every model with keyset cursors, newest first
        page.goto(f"{server.url}/models")
        first = [r.get_attribute("data-id") for r in page.locator("#models tbody tr").all()]
        assert len(first) == 100
        page.click("#models-pager a[rel=next]")
        page.wait_for_url("**after=**")
        second = [r.get_attribute("data-id") for r in page.locator("#models tbody tr").all()]
        assert len(second) == 100 and not set(first) & set(second)
        page.click("#models-pager a[rel=prev]")
        page.wait_for_url("**before=**")
        assert [r.get_attribute("data-id") for r in page.locator("#models tbody tr").all()] == first
        page.goto(f"{server.url}/models?last=1")
        last = page.locator("#models tbody tr")
        assert 0 < last.count() <= 100 and page.locator("#models-pager a[rel=next]").count() == 0
        page.goto(f"{server.url}/models?project=chain&sort=created&dir=asc")
        names = page.locator("#models a.model-link").all_inner_texts()
        assert sorted(names) == sorted(f"gen-{g}.pt" for g in range(30))  # the one project's 30 models

        # pending and failed uploads are shown as such, with the error; no download link without a hash
        page.goto(f"{server.url}/task/{ids['flaky']}?tab=artifacts")
        late, lost = page.locator("#output-models tbody tr").all()
        assert late.locator(".upload").inner_text() == "pending" and late.locator("a.download").count() == 0
        assert "on its way to s3://bucket/flaky/late.pt" in late.inner_text()
        assert lost.locator(".upload").inner_text() == "failed"
        assert "Access Denied" in lost.locator(".err").inner_text()
        page.screenshot(path=str(shots / "task-upload-states.png"), full_page=True)

        # the task table pages on the server: 50 rows a page
        page.goto(f"{server.url}/")
        assert page.locator("#tasks tbody tr").count() == 50
        assert f"{ids['tasks']} tasks, page 1 of {-(-ids['tasks'] // 50)}" in page.locator(".summary").inner_text()
        assert page.locator("nav.projects li").count() == 1 + 100  # "all projects" and the first 100 by name
        page.click("#all-projects")
        page.wait_for_url("**/projects**")
        assert page.locator("nav.projects li").count() == 1 + 122
        assert page.locator("nav.projects li", has_text="scale").inner_text().split() == ["scale", "1202"]
        page.goto(f"{server.url}/")
        page.click("a[rel=next]")
        page.wait_for_url("**page=2**")
        assert page.locator("#tasks tbody tr").count() == 50
    finally:
        server.stop()
