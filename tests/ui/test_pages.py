"""`autolog ui` through a real browser: the task table, the Artifacts tab, the lineage graph, previews and
downloads, over the records of a real train -> fine-tune pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import get, require

require()  # skip cleanly outside the `ui` env

pytestmark = pytest.mark.usefixtures("site")


def models_of(records: dict, task: str, kind: str) -> list[dict]:
    return records[task]["models"][kind]


def test_task_table_lists_both_tasks(site, page, shots: Path) -> None:
    page.goto(site["url"] + "/?project=demo")  # other tests add tasks in other projects
    rows = page.locator("#tasks tbody tr")
    assert rows.count() == 2
    by_id = {rows.nth(n).get_attribute("data-id"): rows.nth(n) for n in range(2)}
    assert set(by_id) == {site["train"], site["finetune"]}
    train_row = by_id[site["train"]].inner_text()
    assert "train" in train_row and "completed" in train_row and "nightly" in train_row
    # counts: train saved 1 model and 8 artifacts, loaded none; finetune loaded 1, saved 1
    cells = by_id[site["finetune"]].locator("td.num")
    assert [cells.nth(n).inner_text() for n in range(3)] == ["1", "1", "0"]
    assert "demo" in page.locator("nav.projects").inner_text()
    assert page.locator("nav.projects li.on").inner_text().split() == ["demo", "2"]
    page.screenshot(path=str(shots / "tasks.png"), full_page=True)

    # search by name, by id prefix, filter by status and tag, sort
    page.fill("input[name=q]", "fine")
    page.click("form.filters button")
    assert page.locator("#tasks tbody tr").count() == 1
    assert page.locator("#tasks tbody tr").first.get_attribute("data-id") == site["finetune"]
    page.goto(site["url"] + "/?q=" + site["train"][:6])
    assert page.locator("#tasks tbody tr").first.get_attribute("data-id") == site["train"]
    page.goto(site["url"] + "/?tag=baseline")
    assert [r.get_attribute("data-id") for r in page.locator("#tasks tbody tr").all()] == [site["train"]]
    page.goto(site["url"] + "/?status=failed")
    assert "No task matches" in page.locator("#tasks").inner_text()
    page.goto(site["url"] + "/?project=demo&sort=name&dir=asc")
    assert [r.get_attribute("data-id") for r in page.locator("#tasks tbody tr").all()] == [
        site["finetune"],
        site["train"],
    ]


def test_artifacts_tab_shows_input_model_with_link_to_its_producer(site, records, page, shots: Path) -> None:
    page.goto(f"{site['url']}/task/{site['finetune']}")
    info = page.locator("#run-info").inner_text()
    assert "python" in info and "command line" in info and str(site["work"]) in info
    page.click("#tab-artifacts")
    inputs = page.locator("#input-models tbody tr")
    assert inputs.count() == 1
    ckpt = models_of(records, "train", "output")[0]
    assert inputs.first.get_attribute("data-id") == ckpt["id"]
    assert "ckpt.pt" in inputs.first.inner_text() and "pytorch" in inputs.first.inner_text()
    outputs = page.locator("#output-models tbody tr")
    assert outputs.count() == 1 and "finetuned.pt" in outputs.first.inner_text()
    assert "done" in outputs.first.inner_text() and ckpt["hash"][:12] in inputs.first.inner_text()
    page.screenshot(path=str(shots / "task-artifacts.png"), full_page=True)
    page.click("#input-models a.producer-link")
    page.wait_for_url(f"**/task/{site['train']}")
    assert "train" in page.locator("h1").inner_text()

    # the producer's own tab: its snapshot and its artifacts, each with where it is stored
    page.click("#tab-artifacts")
    assert page.locator("#output-models tbody tr").count() == 1
    names = page.locator("#artifacts-table a.artifact-link").all_inner_texts()
    assert names == ["metrics", "features", "config", "sample", "notes", "vocab", "evil", "victim"]
    assert str(site["out"]) in page.locator("#artifacts-table").inner_text()
    page.screenshot(path=str(shots / "task-train-artifacts.png"), full_page=True)


def test_lineage_graph_connects_both_tasks_through_the_checkpoint(site, records, page, shots: Path) -> None:
    ckpt = models_of(records, "train", "output")[0]
    finetuned = models_of(records, "finetune", "output")[0]
    page.goto(f"{site['url']}/model/{finetuned['id']}")
    page.wait_for_selector("#lineage[data-ready='1']")
    nodes = {a.get_attribute("data-id") for a in page.locator("#lineage-svg a.node").all()}
    assert {f"t:{site['train']}", f"m:{ckpt['id']}", f"t:{site['finetune']}", f"m:{finetuned['id']}"} <= nodes
    edges = {
        (p.get_attribute("data-source"), p.get_attribute("data-target"), p.get_attribute("data-kind"))
        for p in page.locator("#lineage-svg path.edge").all()
    }
    assert (f"t:{site['train']}", f"m:{ckpt['id']}", "produced") in edges
    assert (f"m:{ckpt['id']}", f"t:{site['finetune']}", "loaded") in edges
    assert (f"t:{site['finetune']}", f"m:{finetuned['id']}", "produced") in edges
    # laid out left to right in generation order
    x = {
        n: page.locator(f"#lineage-svg a.node[data-id='{n}'] rect").bounding_box()["x"]
        for n in (f"t:{site['train']}", f"m:{ckpt['id']}", f"t:{site['finetune']}")
    }
    assert x[f"t:{site['train']}"] < x[f"m:{ckpt['id']}"] < x[f"t:{site['finetune']}"]
    assert "producer task" in page.locator("#model-fields").inner_text()
    page.screenshot(path=str(shots / "lineage.png"), full_page=True)

    # each node is a link: from the fine-tuned model to the task that produced its starting checkpoint
    page.locator(f"#lineage-svg a.node[data-id='m:{ckpt['id']}']").click()
    page.wait_for_url(f"**/model/{ckpt['id']}")
    assert page.locator("ul.consumers a.consumer-link").get_attribute("href") == f"/task/{site['finetune']}"
    page.click("#producer")
    page.wait_for_url(f"**/task/{site['train']}")

    # the depth control asks for fewer generations
    page.goto(f"{site['url']}/model/{ckpt['id']}")
    page.wait_for_selector("#lineage[data-ready='1']")
    page.select_option("#depth", "1")
    page.wait_for_selector("#lineage[data-ready='1']")
    assert page.locator("#lineage-svg a.node").count() >= 3


def test_previews(site, page, shots: Path) -> None:
    page.goto(f"{site['url']}/task/{site['train']}?tab=artifacts")
    page.click("#artifacts-table a.artifact-link:text-is('metrics')")
    table = page.locator("#preview-table")
    assert table.locator("thead th").all_inner_texts() == ["epoch", "loss"]
    assert [r.inner_text().split("\t") for r in table.locator("tbody tr").all()] == [
        ["1", "0.91"],
        ["2", "0.52"],
        ["3", "0.257"],
    ]
    page.screenshot(path=str(shots / "preview-dataframe.png"), full_page=True)

    def open_artifact(name: str) -> None:
        page.goto(f"{site['url']}/task/{site['train']}?tab=artifacts")
        page.click(f"#artifacts-table a.artifact-link:text-is('{name}')")

    open_artifact("features")
    array = page.locator("#preview-array").inner_text()
    assert "[3, 4]" in array and "float32" in array and "-2.5" in array and "8.5" in array
    open_artifact("config")
    assert '"optimizer": "sgd"' in page.locator("#preview-text").inner_text()
    open_artifact("sample")
    page.wait_for_load_state("load")  # the thumbnail is made on the server from the stored JPEG
    assert page.evaluate("document.getElementById('thumbnail').naturalWidth") == 64
    page.screenshot(path=str(shots / "preview-image.png"), full_page=True)
    open_artifact("notes")
    assert page.locator("#preview-table tbody tr").count() == 2
    assert "valid" in page.locator("#preview-table").inner_text()
    open_artifact("vocab")
    assert page.locator("#preview-members tbody td").all_inner_texts()[::2] == ["sub/extra.txt", "words.txt"]


def test_download_returns_the_exact_bytes(site, records, page) -> None:
    ckpt = models_of(records, "train", "output")[0]
    page.goto(f"{site['url']}/model/{ckpt['id']}")
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == "ckpt.1.pt"  # <name>.<order number><ext>
    assert Path(download.path()).read_bytes() == (site["work"] / "ckpt.pt").read_bytes()

    # a folder artifact comes as the stored zip, byte for byte
    vocab = next(a for a in records["train"]["artifacts"] if a["name"] == "vocab")
    page.goto(f"{site['url']}/task/{site['train']}?tab=artifacts")
    with page.expect_download() as info:
        page.locator("#artifacts-table tr", has_text="vocab").locator("a.download").click()
    assert Path(info.value.path()).read_bytes() == Path(vocab["uri"]).read_bytes()


def test_download_refuses_bytes_that_do_not_match_the_hash(site, records, page) -> None:
    victim = next(a for a in records["train"]["artifacts"] if a["name"] == "victim")
    stored = Path(victim["uri"])
    stored.write_bytes(stored.read_bytes().replace(b"overwritten", b"OVERWRITTEN"))
    page.goto(f"{site['url']}/task/{site['train']}?tab=artifacts")
    href = page.locator("#artifacts-table tr", has_text="victim").locator("a.download").get_attribute("href")
    status, _headers, body = get(site["url"] + href)
    assert status == 409
    assert b"do not match the recorded hash" in body and b"OVERWRITTEN" not in body


def test_pickle_is_never_unpickled(site, page, shots: Path) -> None:
    page.goto(f"{site['url']}/task/{site['train']}?tab=artifacts")
    page.click("#artifacts-table a.artifact-link:text-is('evil')")
    text = page.locator("#preview").inner_text()
    assert "pickle of __main__.Evil" in text and "never unpickled" in text
    fields = page.locator("#artifact-fields").inner_text()
    assert "pickle" in fields and "bytes" in fields
    artifact_id = page.url.rsplit("/", 1)[1]
    assert get(f"{site['url']}/artifact/{artifact_id}/thumbnail.png")[0] == 404
    status, _h, body = get(f"{site['url']}/download/artifact/{artifact_id}")
    assert status == 200 and body.startswith(b"\x80")  # the raw pickle bytes, served, not loaded
    page.screenshot(path=str(shots / "preview-pickle.png"), full_page=True)
    assert not site["marker"].exists(), "the server unpickled the artifact"


def test_local_only_model_downloads_from_its_saved_file_while_it_is_unchanged(site, records) -> None:
    model = records["local"]["models"]["output"][0]
    assert model["uri"] is None
    saved = site["work"] / "local.pt"
    status, headers, body = get(f"{site['url']}/download/model/{model['id']}")
    assert status == 200 and body == saved.read_bytes()
    assert 'filename="local.1.pt"' in headers["content-disposition"]
    saved.write_bytes(body[:-1] + bytes([body[-1] ^ 1]))  # one bit changed after it was recorded
    status, _headers, body = get(f"{site['url']}/download/model/{model['id']}")
    assert status == 409 and b"changed since it was recorded" in body
