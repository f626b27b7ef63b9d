"""Make the README's screenshots of `autolog ui`: run the quickstart in a fresh home, serve it, photograph the
fine-tune task's Artifacts tab and the checkpoint's lineage graph on a desktop (1280x760), and the task table
and the same lineage on a phone (390x844), with headless Chromium.

    .tox/ui/bin/python docs/screenshots.py   # writes docs/ui-task.png, ui-lineage.png, ui-phone.png
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main() -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    home = tempfile.mkdtemp(prefix="autolog-shots-")
    env = {**os.environ, "AUTOLOG_HOME": home, "XDG_CONFIG_HOME": home}
    subprocess.run([sys.executable, str(ROOT / "examples" / "pytorch_train.py")], env=env, check=True, cwd=home)
    tasks = json.loads(
        subprocess.run(
            [sys.executable, "-m", "autolog", "tasks", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            cwd=home,
        ).stdout
    )
    finetune = next(t for t in tasks if t["name"] == "fine-tune")
    shown = json.loads(
        subprocess.run(
            [sys.executable, "-m", "autolog", "show", finetune["id"], "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            cwd=home,
        ).stdout
    )
    model_id = shown["models"]["input"][0]["id"]  # the checkpoint: its producer above, the fine-tune below
    port = 18765
    server = subprocess.Popen([sys.executable, "-m", "autolog", "ui", "--port", str(port)], env=env, cwd=home)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/static/style.css", timeout=5).read()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 760})
            shots = {}
            page.goto(f"{url}/task/{finetune['id']}?tab=artifacts")
            shots["ui-task.png"] = page.screenshot()
            page.goto(f"{url}/model/{model_id}")
            page.wait_for_selector("#lineage[data-ready='1']")
            shots["ui-lineage.png"] = page.screenshot(full_page=True)
            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True)
            phone.goto(f"{url}/")
            tasks_png = Image.open(io.BytesIO(phone.screenshot())).convert("RGB")
            phone.goto(f"{url}/task/{finetune['id']}?tab=artifacts")
            task_png = Image.open(io.BytesIO(phone.screenshot())).convert("RGB")
            both = Image.new("RGB", (390 * 2 + 16, 844), (255, 255, 255))  # two phone screens side by side
            both.paste(tasks_png, (0, 0))
            both.paste(task_png, (390 + 16, 0))
            out = io.BytesIO()
            both.save(out, format="PNG")
            shots["ui-phone.png"] = out.getvalue()
            browser.close()
    finally:
        server.terminate()
        server.wait()
    for name, png in shots.items():  # a 64-colour palette keeps each file small enough to commit
        image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
        image.save(HERE / name, optimize=True)
        print(name, (HERE / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
