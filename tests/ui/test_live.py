"""A running task shows as running, and the pages update without a manual reload when it ends."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from .conftest import get, require

require()  # skip cleanly outside the `ui` env

RUNNING = """
    import os, sys, time
    import autolog

    task = autolog.init("live", "long-run")
    print(task.id, flush=True)
    deadline = time.time() + 120
    while not os.path.exists(sys.argv[1]) and time.time() < deadline:
        time.sleep(0.1)
    task.close()
"""


def test_running_task_updates_without_reload(site, page, shots) -> None:
    go = site["root"] / "live-go"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(RUNNING), str(go)],
        env=site["env"],
        cwd=site["work"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        task_id = proc.stdout.readline().strip()
        assert len(task_id) == 32, proc.stderr.read()
        deadline = time.monotonic() + 30  # init() records the task on a background thread: wait for the row
        while get(f"{site['url']}/task/{task_id}")[0] != 200:
            assert time.monotonic() < deadline, "the running task never reached the store"
            time.sleep(0.1)
        page.goto(site["url"] + "/?project=live")
        row = f"#tasks tr[data-id='{task_id}']"
        page.wait_for_selector(f"{row}[data-status='running']")
        assert "running" in page.locator(row).inner_text()
        page.screenshot(path=str(shots / "tasks-running.png"), full_page=True)
        task_page = page.context.new_page()
        task_page.goto(f"{site['url']}/task/{task_id}")
        assert task_page.locator("#task-status").inner_text() == "running"
        page.evaluate("window.notReloaded = true")
        go.write_text("go")
        assert proc.wait(timeout=60) == 0
        started = time.monotonic()
        page.wait_for_selector(f"{row}[data-status='completed']", timeout=20000)
        assert page.evaluate("window.notReloaded === true"), "the table page was reloaded"
        task_page.wait_for_selector("#task-status[data-status='completed']", timeout=20000)
        assert time.monotonic() - started < 20
    finally:
        go.write_text("go")
        proc.wait(timeout=60)


SAVING = """
    import os, sys, time
    import torch
    import autolog

    task = autolog.init("live", "saving", output_uri=sys.argv[2])
    print(task.id, flush=True)
    torch.save({"w": torch.zeros(2)}, "live-1.pt")
    deadline = time.time() + 120
    while not os.path.exists(sys.argv[1]) and time.time() < deadline:
        time.sleep(0.1)
    torch.save({"w": torch.ones(2)}, "live-2.pt")  # arrives while the task page is open
    while not os.path.exists(sys.argv[1] + ".end") and time.time() < deadline:
        time.sleep(0.1)
"""


def test_running_tasks_snapshot_list_grows_while_it_runs(site, page) -> None:
    go = site["root"] / "live-save-go"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SAVING), str(go), str(site["out"])],
        env=site["env"],
        cwd=site["work"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        task_id = proc.stdout.readline().strip()
        assert len(task_id) == 32, proc.stderr.read()
        deadline = time.monotonic() + 30
        while "live-1.pt" not in get(f"{site['url']}/task/{task_id}?tab=artifacts")[2].decode():
            assert time.monotonic() < deadline, "the first snapshot never reached the store"
            time.sleep(0.1)
        page.goto(f"{site['url']}/task/{task_id}?tab=artifacts")
        assert page.locator("#output-models tbody tr[data-id]").count() == 1
        page.evaluate("window.notReloaded = true")
        go.write_text("go")
        page.wait_for_selector("#output-models tbody tr[data-seq='2']", timeout=20000)
        assert page.locator("#output-models a.model-link").all_inner_texts() == ["live-1.pt", "live-2.pt"]
        assert page.evaluate("window.notReloaded === true"), "the page was reloaded, not updated in place"
        assert page.locator("#task-status").inner_text() == "running"
    finally:
        go.write_text("go")
        (site["root"] / "live-save-go.end").write_text("end")
        proc.wait(timeout=60)
