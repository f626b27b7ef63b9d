"""Fixtures for `autolog ui`: a real train -> fine-tune pipeline (torch hook, subprocess user programs), the
`autolog ui` command started as a user starts it, and Debian's Chromium driven by Playwright.

The pipeline and the server are session-scoped (one store, one server for the browser tests) so the env stays
within a couple of minutes. Screenshots go to `AUTOLOG_TEST_UI_SCREENSHOTS` (tox: `build/ui-screenshots`).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# what the `ui` tox env installs; each test module skips without them (`importorskip` cannot run in a conftest)
NEEDED = ("starlette", "uvicorn", "jinja2", "torch", "numpy", "pandas", "PIL", "playwright")


def require() -> None:
    for name in NEEDED:
        pytest.importorskip(name)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

TRAIN = """
    import os, pickle, sys
    import numpy as np, pandas as pd, torch
    from PIL import Image
    import autolog

    class Evil:
        # unpickling this calls os.mkdir(marker): the proof that the server never unpickles
        def __reduce__(self):
            return (os.mkdir, (sys.argv[2],))

    out = sys.argv[1]
    task = autolog.init("demo", "train", output_uri=out, tags=["nightly", "baseline"])
    model = torch.nn.Linear(4, 2)
    torch.save(model.state_dict(), "ckpt.pt")
    task.upload_artifact("metrics", pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.91, 0.52, 0.257]}))
    task.upload_artifact("features", np.arange(12, dtype="float32").reshape(3, 4) - 2.5)
    task.upload_artifact("config", {"lr": 0.1, "layers": [4, 2], "optimizer": "sgd"})
    task.upload_artifact("sample", Image.new("RGB", (64, 48), (200, 30, 30)))
    with open("notes.csv", "w") as fh:
        fh.write("split,count\\ntrain,800\\nvalid,200\\n")
    task.upload_artifact("notes", "notes.csv")
    os.makedirs("vocab/sub", exist_ok=True)
    open("vocab/words.txt", "w").write("a\\nb\\n")
    open("vocab/sub/extra.txt", "w").write("c\\n")
    task.upload_artifact("vocab", "vocab")
    task.upload_artifact("evil", Evil())
    task.upload_artifact("victim", {"about": "overwritten at its storage by a test"})
    task.close()
    print(task.id)
"""

FINETUNE = """
    import sys
    import torch
    import autolog

    task = autolog.init("demo", "finetune", output_uri=sys.argv[1], tags=["nightly"])
    model = torch.nn.Linear(4, 2)
    model.load_state_dict(torch.load("ckpt.pt"))
    torch.save(model.state_dict(), "finetuned.pt")
    task.close()
    print(task.id)
"""


LOCAL_ONLY = """
    import torch
    import autolog

    task = autolog.init("local", "export")  # no output_uri: the model is recorded by its local path only
    torch.save({"w": torch.arange(6.0)}, "local.pt")
    task.close()
    print(task.id)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, method=method), timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class Server:
    """`autolog ui` in a subprocess on a free port."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autolog", "ui", "--port", str(self.port), *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"autolog ui exited {self.proc.returncode}: {self.proc.stderr.read()}")
            try:
                if get(self.url + "/static/style.css")[0] in (200, 403):  # 403: up, asking for its token
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("autolog ui did not answer within 60 s")
            time.sleep(0.2)

    def stop(self) -> str:
        self.proc.terminate()
        try:
            _out, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _out, err = self.proc.communicate()
        return err


def user_programs(root: Path) -> tuple[dict[str, str], Path, Callable[..., str]]:
    """A new home under `root`, with no setting of this machine's leaking in: (env, work folder, run), where
    `run(code, *args)` runs a user's program there in a fresh interpreter and returns its last output line."""
    work = root / "work"
    work.mkdir()
    env = {
        **os.environ,
        "AUTOLOG_HOME": str(root / "home"),
        "XDG_CONFIG_HOME": str(root / "xdg"),
        "AUTOLOG_STRICT": "1",
    }
    for var in (
        "AUTOLOG_CONFIG",
        "AUTOLOG_TRACKING_URI",
        "AUTOLOG_DEFAULT_OUTPUT_URI",
        "AUTOLOG_CACHE_DIR",
        "AUTOLOG_DISABLE",
        "AUTOLOG_UI_TOKEN",
        "RANK",
    ):
        env.pop(var, None)

    def run(code: str, *args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            capture_output=True,
            text=True,
            cwd=work,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, f"user program failed:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout.strip().splitlines()[-1]

    return env, work, run


@contextlib.contextmanager
def build_site(root: Path) -> Iterator[dict]:
    """{url, env, work, out, train, finetune, local, marker, root}: the pipeline has run in a new home under
    `root` and `autolog ui` serves it until the block ends."""
    env, work, run = user_programs(root)
    out, marker = root / "remote", root / "UNPICKLED"
    train = run(TRAIN, str(out), str(marker))
    finetune = run(FINETUNE, str(out))
    local = run(LOCAL_ONLY)
    assert not marker.exists()
    server = Server(env, work)
    try:
        yield {
            "url": server.url,
            "env": env,
            "work": work,
            "out": out,
            "train": train,
            "finetune": finetune,
            "local": local,
            "marker": marker,
            "root": root,
        }
    finally:
        server.stop()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory):
    """The shared site (one store, one server) most browser tests read."""
    with build_site(tmp_path_factory.mktemp("ui-site")) as found:
        yield found


def read_records(site: dict) -> dict:
    """The records the pipeline made, read through the CLI's JSON (ids of models and artifacts)."""

    def show(task_id: str) -> dict:
        proc = subprocess.run(
            [sys.executable, "-m", "autolog", "show", task_id, "--json"],
            capture_output=True,
            text=True,
            env=site["env"],
            cwd=site["work"],
            timeout=120,
            check=True,
        )
        return json.loads(proc.stdout)

    return {"train": show(site["train"]), "finetune": show(site["finetune"]), "local": show(site["local"])}


@pytest.fixture(scope="session")
def records(site):
    return read_records(site)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)")
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} from {r.url}") if r.status >= 500 else None)
    yield page
    context.close()
    assert not errors, f"JavaScript errors or server errors on the page: {errors}"


@pytest.fixture(scope="session")
def shots() -> Path:
    folder = Path(
        os.environ.get("AUTOLOG_TEST_UI_SCREENSHOTS")
        or Path(__file__).resolve().parents[2] / "build" / "ui-screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder
