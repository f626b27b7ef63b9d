"""The Lightning hook end to end with real Lightning 2.6 training: checkpoints, top-k deletion, `ckpt_path`
"best"/"last", the streaming transaction save of Lightning's next release, both namespaces, S3 dirpath."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
L = pytest.importorskip("lightning")

import fsspec  # noqa: E402
from lightning.pytorch.callbacks import ModelCheckpoint  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import autolog  # noqa: E402
from autolog.storage.fingerprint import hash_file  # noqa: E402


class Regressor(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        self.log("progress", float(self.current_epoch))  # grows: each new checkpoint evicts the older top-1
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def predict_step(self, batch, batch_idx):
        return self(batch[0])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def data() -> DataLoader:
    torch.manual_seed(0)
    return DataLoader(TensorDataset(torch.randn(32, 4), torch.randn(32, 1)), batch_size=16)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lightning's default checkpoint folder is `./checkpoints`: keep it out of the checkout."""
    monkeypatch.chdir(tmp_path)


def trainer(epochs: int, callbacks=(), module=L) -> L.Trainer:
    return module.Trainer(
        max_epochs=epochs,
        callbacks=list(callbacks),
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )


def test_top_k_deletion_loses_no_snapshot(tmp_path: Path, remote: Path):
    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpts", save_top_k=1, monitor="progress", mode="max")
    with autolog.init("lightning", "topk", output_uri=str(remote)) as task:
        trainer(3, [checkpoints]).fit(Regressor(), data())
    outputs = task.models["output"]
    assert [m.name for m in outputs] == ["epoch=0-step=2.ckpt", "epoch=1-step=4.ckpt", "epoch=2-step=6.ckpt"]
    assert {m.framework for m in outputs} == {"lightning"}
    assert len(list((tmp_path / "ckpts").iterdir())) == 1, "ModelCheckpoint kept more than top-1"
    for model in outputs:
        assert model.uri and model.upload_state == "done"
        assert hash_file(model.get_local_copy()) == model.hash  # the deleted ones too
        assert torch.load(model.get_local_copy(), weights_only=False)["global_step"] == int(model.name[-6])


@pytest.mark.parametrize("which", ["best", "last"])
def test_ckpt_path_best_and_last_link_the_producing_snapshot(tmp_path: Path, which: str):
    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpts", save_top_k=-1, monitor="val_loss", save_last=True)
    fit = trainer(2, [checkpoints])
    with autolog.init("lightning", "train") as producer:
        fit.fit(Regressor(), data(), data())
        fit.validate(Regressor(), data(), ckpt_path=which, verbose=False)  # own checkpoint: not an input
    assert producer.models["input"] == []
    with autolog.init("lightning", "evaluate") as consumer:
        fit.validate(Regressor(), data(), ckpt_path=which, verbose=False)
        fit.predict(Regressor(), data(), ckpt_path=which)
    (linked,) = consumer.models["input"]
    assert linked.task_id == producer.id
    expected = Path(checkpoints.best_model_path if which == "best" else checkpoints.last_model_path).name
    assert linked.name == expected
    assert [m for m in autolog.Model.query() if m.task_id is None] == []


def test_load_from_checkpoint_and_fit_resume_link_without_orphans(tmp_path: Path):
    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpts", save_top_k=-1)
    with autolog.init("lightning", "train") as producer:
        trainer(2, [checkpoints]).fit(Regressor(), data())
    with autolog.init("lightning", "resume") as consumer:
        Regressor.load_from_checkpoint(tmp_path / "ckpts" / "epoch=0-step=2.ckpt")
        trainer(3).fit(Regressor(), data(), ckpt_path=str(tmp_path / "ckpts" / "epoch=1-step=4.ckpt"))
        trainer(1).save_checkpoint  # noqa: B018 - the attribute exists on both namespaces
    assert [(m.name, m.task_id) for m in consumer.models["input"]] == [
        ("epoch=0-step=2.ckpt", producer.id),
        ("epoch=1-step=4.ckpt", producer.id),
    ]
    assert [m for m in autolog.Model.query() if m.task_id is None] == []


def test_trainer_save_checkpoint_and_the_pytorch_lightning_namespace(tmp_path: Path):
    pl = pytest.importorskip("pytorch_lightning")

    class Legacy(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    with autolog.init("lightning", "manual") as task:
        fit = trainer(1, module=L)
        fit.fit(Regressor(), data())
        fit.save_checkpoint(tmp_path / "manual.ckpt")
        legacy = pl.Trainer(
            max_epochs=1,
            logger=False,
            default_root_dir=tmp_path,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            accelerator="cpu",
            devices=1,
        )
        legacy.fit(Legacy(), data())
        legacy.save_checkpoint(str(tmp_path / "legacy.ckpt"))
    assert [(m.name, m.framework) for m in task.models["output"]] == [
        ("epoch=0-step=2.ckpt", "lightning"),
        ("manual.ckpt", "lightning"),
        ("legacy.ckpt", "lightning"),
    ]


def _streaming_atomic_save(checkpoint, filepath):
    """Lightning's next release (main branch `cloud_io._atomic_save`, local file systems): `torch.save` streams
    into the fsspec transaction's temporary file, moved to `filepath` on commit."""
    try:
        fs, urlpath = fsspec.core.url_to_fs(str(filepath))
        with fs.transaction:
            with fs.open(urlpath, "wb") as f:
                torch.save(checkpoint, f)
    except PermissionError as e:
        if isinstance(e.__context__, OSError) and getattr(e.__context__, "errno", None) == errno.EXDEV:
            raise RuntimeError("cross-device") from e
        raise


def test_streaming_transaction_save_of_the_next_release_gets_the_final_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import lightning.fabric.plugins.io.torch_io as torch_io
    import lightning.fabric.utilities.cloud_io as cloud_io

    autolog.uninstrument()  # install the next release's function first, as if Lightning shipped it
    monkeypatch.setattr(cloud_io, "_atomic_save", _streaming_atomic_save)
    monkeypatch.setattr(torch_io, "_atomic_save", _streaming_atomic_save)
    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpts", save_top_k=-1)
    with autolog.init("lightning", "streaming") as task:
        trainer(2, [checkpoints]).fit(Regressor(), data())
    assert [(m.name, m.framework) for m in task.models["output"]] == [
        ("epoch=0-step=2.ckpt", "lightning"),
        ("epoch=1-step=4.ckpt", "lightning"),
    ]
    for model in task.models["output"]:
        assert model.local_path == str(tmp_path / "ckpts" / model.name)
        assert model.hash == hash_file(model.local_path)


def test_a_torch_save_streamed_into_an_fsspec_transaction_is_named_after_the_final_path(tmp_path: Path):
    target = tmp_path / "stream.pt"
    with autolog.init("lightning", "plain-torch") as task:
        fs, urlpath = fsspec.core.url_to_fs(str(target))
        with fs.transaction:
            with fs.open(urlpath, "wb") as f:
                torch.save({"w": torch.ones(3)}, f)
    (model,) = task.models["output"]
    assert (model.name, model.framework, model.local_path) == ("stream.pt", "pytorch", str(target))
    assert model.hash == hash_file(target)
    assert not [p for p in os.listdir(tmp_path) if p != "stream.pt" and not p.startswith(("remote", "autolog"))]


@pytest.mark.s3
@pytest.mark.parametrize("torch_hook", [True, False], ids=["hash-from-memory", "torch-hook-off-read-back"])
def test_a_remote_checkpoint_dir_is_recorded_at_its_uri_without_a_second_copy(
    s3_uri: str, tmp_path: Path, torch_hook: bool
):
    pytest.importorskip("s3fs")
    dirpath = f"{s3_uri}/ckpts"
    checkpoints = ModelCheckpoint(dirpath=dirpath, save_top_k=-1)
    with autolog.init("lightning", "s3", frameworks={"torch": torch_hook}) as producer:
        trainer(2, [checkpoints]).fit(Regressor(), data())
    outputs = producer.models["output"]
    assert [(m.name, m.uri) for m in outputs] == [
        ("epoch=0-step=2.ckpt", f"{dirpath}/epoch=0-step=2.ckpt"),
        ("epoch=1-step=4.ckpt", f"{dirpath}/epoch=1-step=4.ckpt"),
    ]
    from blake3 import blake3

    for model in outputs:
        with fsspec.open(model.uri, "rb") as f:
            data_bytes = f.read()
        assert (model.hash, model.size, model.upload_state) == (blake3(data_bytes).hexdigest(), len(data_bytes), "done")
        assert open(model.get_local_copy(), "rb").read() == data_bytes
    fs = fsspec.filesystem("s3")
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.find(s3_uri.split("://", 1)[1])) == [
        "epoch=0-step=2.ckpt",
        "epoch=1-step=4.ckpt",
    ], "a second copy was uploaded"
    with autolog.init("lightning", "s3-reload") as consumer:
        Regressor.load_from_checkpoint(f"{dirpath}/epoch=1-step=4.ckpt")
    assert [(m.name, m.task_id) for m in consumer.models["input"]] == [("epoch=1-step=4.ckpt", producer.id)]


def test_lightning_example_runs(home: Path, tmp_path: Path):
    import subprocess
    import sys

    example = Path(__file__).resolve().parents[3] / "examples" / "lightning_train.py"
    if not example.is_file():
        pytest.skip("examples/ is not part of this checkout")
    proc = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (train,) = autolog.Task.query(project="lightning-example", task="train")
    (resume,) = autolog.Task.query(project="lightning-example", task="resume")
    names = [m.name for m in train.models["output"]]
    assert names.count("last.ckpt") == 4 and "epoch=0-step=8.ckpt" in names and "epoch=3-step=32.ckpt" in names
    assert resume.models["input"] and all(m.task_id == train.id for m in resume.models["input"])
    assert "lineage of task 2:" in proc.stdout and "made by task lightning-example/train" in proc.stdout
