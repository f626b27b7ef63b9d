"""Real training stacks in every import order: each checkpoint recorded under its real name, each reload
linked to the task that produced it.

Each case is a user program run in a fresh interpreter (`run_py`), written the way its docs write it, with
the framework imported (1) before `import autolog`, (2) between `import autolog` and `init()`, (3) after
`init()`. A producer program trains and saves; a consumer program (again in that order) reloads. The records
are then read from the shared autolog home. A stack that is not installed is skipped.
"""

from __future__ import annotations

import importlib.util
import textwrap

import pytest

import autolog

ORDERS = ("framework-first", "between-import-and-init", "after-init")


def program(order: str, framework_imports: str, body: str, project: str, name: str) -> str:
    """The user's script with its framework imports placed according to `order`."""
    init = f"task = autolog.init({project!r}, {name!r})"
    parts = {
        "framework-first": [framework_imports, "import autolog", init],
        "between-import-and-init": ["import autolog", framework_imports, init],
        "after-init": ["import autolog", init, framework_imports],
    }[order]
    return "\n".join(textwrap.dedent(p).strip() for p in parts) + "\n" + textwrap.dedent(body)


def require(*modules: str) -> None:
    for module in modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")


def check_lineage(project: str, expected: list[str], framework: str) -> None:
    (producer,) = autolog.Task.query(project=project, task="train")
    (consumer,) = autolog.Task.query(project=project, task="reload")
    outputs = producer.models["output"]
    assert [m.name for m in outputs] == expected
    assert {m.framework for m in outputs} == {framework}
    inputs = consumer.models["input"]
    assert inputs, "the reloads were not linked"
    assert all(m.task_id == producer.id for m in inputs), [(m.name, m.task_id) for m in inputs]
    assert not [m for m in autolog.Model.query() if m.task_id is None], "an orphan imported model was made"


# -- scikit-learn's docs: `from joblib import dump, load` ------------------------------------------------------
SKLEARN_IMPORTS = """
from sklearn import svm, datasets
from joblib import dump, load
"""
SKLEARN_TRAIN = """
clf = svm.SVC()
X, y = datasets.load_iris(return_X_y=True)
clf.fit(X, y)
dump(clf, 'filename.joblib')
"""
SKLEARN_RELOAD = """
clf = load('filename.joblib')
print(clf.predict(X[:2]) if 'X' in dir() else clf)
"""


@pytest.mark.parametrize("order", ORDERS)
def test_sklearn_docs_joblib_script(order: str, run_py):
    require("sklearn", "joblib")
    project = f"sklearn-{order}"
    run_py(program(order, SKLEARN_IMPORTS, SKLEARN_TRAIN, project, "train"))
    run_py(program(order, SKLEARN_IMPORTS, SKLEARN_RELOAD, project, "reload"))
    check_lineage(project, ["filename.joblib"], "scikit-learn")


# -- Lightning: ModelCheckpoint(save_top_k=-1) ---------------------------------------------------------------
LIGHTNING_IMPORTS = """
import torch
import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset
"""
LIGHTNING_COMMON = """
class Regressor(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)
        return loss
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

torch.manual_seed(0)
data = DataLoader(TensorDataset(torch.randn(32, 4), torch.randn(32, 1)), batch_size=16)
def trainer(epochs, callbacks=()):
    return L.Trainer(max_epochs=epochs, callbacks=list(callbacks), logger=False, enable_progress_bar=False,
                     enable_model_summary=False, accelerator="cpu", devices=1)
"""
LIGHTNING_TRAIN = (
    LIGHTNING_COMMON
    + """
checkpoints = ModelCheckpoint(dirpath="ckpts", save_top_k=-1, save_last=True)
trainer(3, [checkpoints]).fit(Regressor(), data)
"""
)
LIGHTNING_RELOAD = (
    LIGHTNING_COMMON
    + """
model = Regressor.load_from_checkpoint("ckpts/epoch=0-step=2.ckpt")
trainer(4).fit(Regressor(), data, ckpt_path="ckpts/epoch=2-step=6.ckpt")
"""
)


@pytest.mark.parametrize("order", ORDERS)
def test_lightning_model_checkpoint(order: str, run_py):
    require("lightning", "torch")
    project = f"lightning-{order}"
    run_py(program(order, LIGHTNING_IMPORTS, LIGHTNING_TRAIN, project, "train"))
    run_py(program(order, LIGHTNING_IMPORTS, LIGHTNING_RELOAD, project, "reload"))
    check_lineage(
        project,
        ["epoch=0-step=2.ckpt", "last.ckpt", "epoch=1-step=4.ckpt", "last.ckpt", "epoch=2-step=6.ckpt", "last.ckpt"],
        "lightning",
    )
    (consumer,) = autolog.Task.query(project=project, task="reload")
    assert sorted(m.name for m in consumer.models["input"]) == ["epoch=0-step=2.ckpt", "epoch=2-step=6.ckpt"]


# -- Hugging Face Trainer with save_steps ---------------------------------------------------------------------
HF_IMPORTS = """
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
"""
HF_COMMON = """
class Synthetic(torch.utils.data.Dataset):
    def __len__(self):
        return 16
    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return {"input_ids": torch.randint(0, 100, (8,), generator=g), "labels": torch.tensor(i % 2)}

def arguments(steps):
    return TrainingArguments(output_dir="out", max_steps=steps, save_steps=2, per_device_train_batch_size=8,
                             report_to=[], logging_steps=1000, use_cpu=True, disable_tqdm=True)
"""
HF_TRAIN = (
    HF_COMMON
    + """
torch.manual_seed(0)
config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                    vocab_size=100, max_position_embeddings=16, num_labels=2)
Trainer(model=BertForSequenceClassification(config), args=arguments(4), train_dataset=Synthetic()).train()
"""
)
HF_RELOAD = (
    HF_COMMON
    + """
model = BertForSequenceClassification.from_pretrained("out/checkpoint-2")
Trainer(model=model, args=arguments(4), train_dataset=Synthetic()).train(resume_from_checkpoint="out/checkpoint-4")
"""
)


@pytest.mark.parametrize("order", ORDERS)
def test_hf_trainer_save_steps(order: str, run_py):
    require("transformers", "torch")
    project = f"hf-{order}"
    run_py(program(order, HF_IMPORTS, HF_TRAIN, project, "train"))
    run_py(program(order, HF_IMPORTS, HF_RELOAD, project, "reload"))
    check_lineage(project, ["checkpoint-2", "checkpoint-4"], "transformers")
    (producer,) = autolog.Task.query(project=project, task="train")
    for snapshot in producer.models["output"]:
        assert snapshot.is_dir
    (consumer,) = autolog.Task.query(project=project, task="reload")
    assert sorted(m.name for m in consumer.models["input"]) == ["checkpoint-2", "checkpoint-4"]


# -- LightGBM: the native API ---------------------------------------------------------------------------------
LIGHTGBM_IMPORTS = """
import numpy as np
import lightgbm as lgb
"""
LIGHTGBM_DATA = """
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 4)); y = (X[:, 0] > 0).astype(int)
params = {"objective": "binary", "verbose": -1, "num_threads": 1}
"""
LIGHTGBM_TRAIN = LIGHTGBM_DATA + 'lgb.train(params, lgb.Dataset(X, y), num_boost_round=3).save_model("model.txt")\n'
LIGHTGBM_RELOAD = LIGHTGBM_DATA + 'lgb.Booster(model_file="model.txt").predict(X)\n'


@pytest.mark.parametrize("order", ORDERS)
def test_lightgbm_booster_save_model(order: str, run_py):
    require("lightgbm")
    project = f"lightgbm-{order}"
    run_py(program(order, LIGHTGBM_IMPORTS, LIGHTGBM_TRAIN, project, "train"))
    run_py(program(order, LIGHTGBM_IMPORTS, LIGHTGBM_RELOAD, project, "reload"))
    check_lineage(project, ["model.txt"], "lightgbm")


# -- CatBoost: the scikit-learn style class, imported by name -------------------------------------------------
CATBOOST_IMPORTS = """
import numpy as np
from catboost import CatBoostClassifier
"""
CATBOOST_DATA = """
X = np.random.default_rng(0).normal(size=(100, 4)); y = (X[:, 0] > 0).astype(int)
"""
CATBOOST_TRAIN = (
    CATBOOST_DATA
    + 'CatBoostClassifier(iterations=5, verbose=False, allow_writing_files=False).fit(X, y).save_model("model.cbm")\n'
)
CATBOOST_RELOAD = CATBOOST_DATA + 'CatBoostClassifier().load_model("model.cbm").predict(X)\n'


@pytest.mark.parametrize("order", ORDERS)
def test_catboost_save_model(order: str, run_py):
    require("catboost")
    project = f"catboost-{order}"
    run_py(program(order, CATBOOST_IMPORTS, CATBOOST_TRAIN, project, "train"))
    run_py(program(order, CATBOOST_IMPORTS, CATBOOST_RELOAD, project, "reload"))
    check_lineage(project, ["model.cbm"], "catboost")


# -- ONNX: the PyTorch tutorial's export, served with onnxruntime; `from onnx import load` bound early --------
ONNX_IMPORTS = """
import torch
import torch.onnx
import onnxruntime as ort
from onnx import load
"""
ONNX_NET = """
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2)).eval()
x = torch.randn(3, 16)
"""
ONNX_TRAIN = ONNX_NET + 'torch.onnx.export(net, (x,), "model.onnx", verbose=False)\n'
ONNX_RELOAD = (
    ONNX_NET
    + """
session = ort.InferenceSession("model.onnx")
session.run(None, {session.get_inputs()[0].name: x.numpy()})
load("model.onnx")
"""
)


@pytest.mark.parametrize("order", ORDERS)
def test_onnx_export_served_by_onnxruntime(order: str, run_py):
    require("onnx", "onnxruntime", "onnxscript", "torch")
    project = f"onnx-{order}"
    run_py(program(order, ONNX_IMPORTS, ONNX_TRAIN, project, "train"))
    run_py(program(order, ONNX_IMPORTS, ONNX_RELOAD, project, "reload"))
    check_lineage(project, ["model.onnx"], "onnx")
    (consumer,) = autolog.Task.query(project=project, task="reload")
    assert [m.name for m in consumer.models["input"]] == ["model.onnx"]
