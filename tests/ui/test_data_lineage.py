"""Data lineage end to end: prepare (uploads a DataFrame) -> train (fetches it, trains a tiny torch model, saves a
checkpoint) -> fine-tune (loads the checkpoint). Three user programs that end without flush() or close(); the
artifact input is checked through the Python API, `autolog lineage --json`, the task page and the lineage graph
in a real headless Chromium."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Server, require, user_programs

require()  # skip cleanly outside the `ui` env

PREPARE = """
    import pandas as pd
    import autolog
    task = autolog.init("genealogy", "prepare")
    task.upload_artifact("features", pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0],
                                                   "y": [0.0, 1.0, 2.0, 3.0]}))
    print(task.id)
"""

TRAIN = """
    import sys
    import torch
    import autolog
    task = autolog.init("genealogy", "train", output_uri=sys.argv[1])
    df = autolog.Task.get_task(sys.argv[2]).artifacts["features"].get()
    x = torch.tensor(df[["a", "b"]].values, dtype=torch.float32)
    y = torch.tensor(df[["y"]].values, dtype=torch.float32)
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(20):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    torch.save(model.state_dict(), "checkpoint.pt")
    print(task.id)
"""

FINETUNE = """
    import sys
    import torch
    import autolog
    task = autolog.init("genealogy", "finetune", output_uri=sys.argv[1])
    model = torch.nn.Linear(2, 1)
    model.load_state_dict(torch.load("checkpoint.pt"))
    torch.save(model.state_dict(), "finetuned.pt")
    print(task.id)
"""

API = """
    import json, sys
    import autolog
    prepare, train = autolog.Task.get_task(sys.argv[1]), autolog.Task.get_task(sys.argv[2])
    print(json.dumps({"inputs": [[a.name, a.task_id] for a in train.input_artifacts],
                      "consumers": [t.id for t in prepare.artifacts["features"].consumers],
                      "prepare_inputs": [a.name for a in prepare.input_artifacts]}))
"""


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ui-data-lineage")
    env, work, run = user_programs(root)
    out = root / "remote"
    prepare = run(PREPARE)
    train = run(TRAIN, str(out), prepare)
    finetune = run(FINETUNE, str(out))
    server = Server(env, work)
    try:
        yield {
            "url": server.url,
            "env": env,
            "work": work,
            "run": run,
            "prepare": prepare,
            "train": train,
            "finetune": finetune,
        }
    finally:
        server.stop()


def _cli(chain: dict, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "autolog", *args, "--json"],
        capture_output=True,
        text=True,
        env=chain["env"],
        cwd=chain["work"],
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout)


def test_python_api_and_cli_show_the_artifact_input(chain) -> None:
    api = json.loads(chain["run"](API, chain["prepare"], chain["train"]))
    assert api == {"inputs": [["features", chain["prepare"]]], "consumers": [chain["train"]], "prepare_inputs": []}

    tree = _cli(chain, "lineage", chain["finetune"])
    (loaded,) = tree["inputs"]
    assert loaded["model"]["name"] == "checkpoint.pt"
    train = loaded["producer"]
    assert train["task"]["id"] == chain["train"] and train["inputs"] == []
    (features,) = train["artifacts"]
    assert (features["name"], features["type"], features["task_id"]) == ("features", "pandas", chain["prepare"])
    assert features["producer"]["task"]["id"] == chain["prepare"] and features["producer"]["artifacts"] == []


def test_lineage_graph_runs_from_the_data_artifact_to_the_fine_tune(chain, page, shots: Path) -> None:
    shown = _cli(chain, "show", chain["finetune"])
    ckpt = shown["models"]["input"][0]["id"]
    features = _cli(chain, "lineage", chain["train"])["artifacts"][0]["id"]
    a, b, c = (f"t:{chain[k]}" for k in ("prepare", "train", "finetune"))
    art, model = f"a:{features}", f"m:{ckpt}"

    page.goto(f"{chain['url']}/model/{ckpt}")
    page.wait_for_selector("#lineage[data-ready='1']")
    nodes = {
        n.get_attribute("data-id"): n.get_attribute("data-kind") for n in page.locator("#lineage-svg a.node").all()
    }
    assert {a: "task", art: "artifact", b: "task", model: "model", c: "task"}.items() <= nodes.items()
    edges = {
        (p.get_attribute("data-source"), p.get_attribute("data-target"), p.get_attribute("data-kind"))
        for p in page.locator("#lineage-svg path.edge").all()
    }
    assert {(a, art, "produced"), (art, b, "used"), (b, model, "produced"), (model, c, "loaded")} <= edges
    x = {n: page.locator(f"#lineage-svg a.node[data-id='{n}'] rect").bounding_box()["x"] for n in (a, art, b, model, c)}
    assert x[a] < x[art] < x[b] < x[model] < x[c], x
    assert "artifact" in page.locator(".legend").inner_text()
    fill = page.locator(f"#lineage-svg a.node[data-id='{art}'] rect").evaluate("r => getComputedStyle(r).fill")
    assert fill == "rgb(227, 246, 230)"  # green, apart from tasks (blue) and models (orange)
    page.screenshot(path=str(shots / "data-lineage.png"), full_page=True)

    # one generation up from the checkpoint: its producer and the artifact it used, not who made that
    page.select_option("#depth", "1")
    page.wait_for_selector("#lineage[data-ready='1']")
    shallow = {n.get_attribute("data-id") for n in page.locator("#lineage-svg a.node").all()}
    assert {art, b, model, c} <= shallow and a not in shallow

    # the artifact node is a link to the artifact's page, which names its task
    page.select_option("#depth", "3")
    page.wait_for_selector("#lineage[data-ready='1']")
    page.locator(f"#lineage-svg a.node[data-id='{art}']").click()
    page.wait_for_url(f"**/artifact/{features}")
    assert chain["prepare"][:8] in page.content()
    # ... and lists the task that fetched it
    assert page.locator("ul.consumers a.consumer-link").get_attribute("href") == f"/task/{chain['train']}"


def test_task_page_lists_input_artifacts_with_their_producer(chain, page, shots: Path) -> None:
    page.goto(f"{chain['url']}/task/{chain['train']}?tab=artifacts")
    rows = page.locator("#input-artifacts-table tbody tr")
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "features" in text and "pandas" in text and "genealogy/prepare" in text
    assert rows.first.locator("a.producer-link").get_attribute("href").startswith(f"/task/{chain['prepare']}")
    page.screenshot(path=str(shots / "task-input-artifacts.png"), full_page=True)
    page.goto(f"{chain['url']}/task/{chain['prepare']}?tab=artifacts")
    assert page.locator("#input-artifacts-table tbody tr").inner_text().strip() == "None."
