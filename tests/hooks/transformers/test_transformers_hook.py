"""The Hugging Face hook end to end with real transformers 5.x: one folder snapshot per save_pretrained, Trainer
checkpoint and save_model; from_pretrained (model, tokenizer, config) and resume link it. No hub access: tiny
models from a config, a tokenizer built locally."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from transformers import (  # noqa: E402
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    PreTrainedTokenizerFast,
    Trainer,
    TrainingArguments,
)

import autolog  # noqa: E402


def tiny_model() -> BertForSequenceClassification:
    torch.manual_seed(0)
    return BertForSequenceClassification(
        BertConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=37,
            vocab_size=100,
            max_position_embeddings=16,
            num_labels=2,
        )
    )


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[PAD]": 0, "[UNK]": 1, **{f"w{i}": i + 2 for i in range(20)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]")


class Synthetic(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 16

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        return {"input_ids": torch.randint(0, 100, (8,), generator=g), "labels": torch.tensor(i % 2)}


def arguments(out: Path, steps: int, **extra) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(out),
        max_steps=steps,
        save_steps=2,
        per_device_train_batch_size=8,
        report_to=[],
        logging_steps=1000,
        use_cpu=True,
        disable_tqdm=True,
        **extra,
    )


def members(model) -> list[str]:
    return sorted(os.listdir(model.get_local_copy()))


def test_save_pretrained_is_one_folder_snapshot_that_reloads(tmp_path: Path, remote: Path):
    folder = tmp_path / "tiny-bert"
    with autolog.init("hf", "save", output_uri=str(remote)) as producer:
        tiny_model().save_pretrained(folder)
        tiny_tokenizer().save_pretrained(folder)
    first, second = producer.models["output"]
    assert (first.name, first.framework, first.is_dir) == ("tiny-bert", "transformers", True)
    assert members(first) == ["config.json", "model.safetensors"]
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= set(members(second))
    with autolog.init("hf", "load") as consumer:
        AutoConfig.from_pretrained(folder)
        AutoTokenizer.from_pretrained(folder)
        model = AutoModelForSequenceClassification.from_pretrained(folder)
    assert [(m.id, m.task_id) for m in consumer.models["input"]] == [(second.id, producer.id)]
    assert isinstance(model, BertForSequenceClassification)
    assert [m for m in autolog.Model.query() if m.task_id is None] == []


def test_a_folder_fetched_back_with_get_local_copy_loads_and_links(tmp_path: Path, remote: Path):
    with autolog.init("hf", "save", output_uri=str(remote)) as producer:
        tiny_model().save_pretrained(tmp_path / "bert")
    (snapshot,) = producer.models["output"]
    fetched = autolog.Model.get(snapshot.id).get_local_copy()
    assert fetched != str(tmp_path / "bert")
    with autolog.init("hf", "load") as consumer:
        BertForSequenceClassification.from_pretrained(fetched)
    assert [m.id for m in consumer.models["input"]] == [snapshot.id]


def test_trainer_checkpoints_and_save_model_are_folder_snapshots_holding_everything(tmp_path: Path, remote: Path):
    out = tmp_path / "out"
    with autolog.init("hf", "train", output_uri=str(remote)) as producer:
        trainer = Trainer(
            model=tiny_model(), args=arguments(out, 4), train_dataset=Synthetic(), processing_class=tiny_tokenizer()
        )
        trainer.train()
        trainer.save_model(tmp_path / "final")
    outputs = producer.models["output"]
    assert [(m.name, m.framework, m.is_dir) for m in outputs] == [
        ("checkpoint-2", "transformers", True),
        ("checkpoint-4", "transformers", True),
        ("final", "transformers", True),
    ]
    checkpoint = set(members(outputs[0]))
    assert {
        "model.safetensors",
        "config.json",
        "optimizer.pt",
        "scheduler.pt",
        "rng_state.pth",
        "trainer_state.json",
        "training_args.bin",
        "tokenizer.json",
    } <= checkpoint
    assert json.load(open(os.path.join(outputs[1].get_local_copy(), "trainer_state.json")))["global_step"] == 4
    assert {"model.safetensors", "config.json", "training_args.bin"} <= set(members(outputs[2]))
    assert not [m for m in autolog.Model.query() if m.framework in ("pytorch", "safetensors")]


def test_resume_from_checkpoint_links_the_folder_and_no_file_inside_it(tmp_path: Path):
    out = tmp_path / "out"
    with autolog.init("hf", "train") as producer:
        Trainer(model=tiny_model(), args=arguments(out, 4), train_dataset=Synthetic()).train()
    with autolog.init("hf", "resume") as consumer:
        trainer = Trainer(model=tiny_model(), args=arguments(out, 6), train_dataset=Synthetic())
        trainer.train(resume_from_checkpoint=True)
    (linked,) = consumer.models["input"]
    assert (linked.name, linked.task_id) == ("checkpoint-4", producer.id)
    assert [m.name for m in consumer.models["output"]] == ["checkpoint-6"]
    assert [m for m in autolog.Model.query() if m.task_id is None] == []


def test_hf_example_runs(home: Path, tmp_path: Path):
    import subprocess
    import sys

    example = Path(__file__).resolve().parents[3] / "examples" / "hf_finetune.py"
    if not example.is_file():
        pytest.skip("examples/ is not part of this checkout")
    proc = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (train,) = autolog.Task.query(project="hf-example", task="train")
    (resume,) = autolog.Task.query(project="hf-example", task="resume")
    assert [m.name for m in train.models["output"]] == ["checkpoint-2", "checkpoint-4", "final"]
    assert sorted(m.name for m in resume.models["input"]) == ["checkpoint-2", "final"]
    assert all(m.task_id == train.id for m in resume.models["input"])
    assert "made by task hf-example/train" in proc.stdout


def test_transformers_early_safetensors_bindings_are_rebound_when_imported_before_autolog(run_py):
    proc = run_py("""
        import json
        import safetensors, safetensors.torch
        from transformers import modeling_utils           # binds safe_save_file and safe_open at its import
        kept = {"save": safetensors.torch.save_file, "open": safetensors.safe_open}
        import autolog
        task = autolog.init("hf", "early")
        rebound = [modeling_utils.safe_save_file is safetensors.torch.save_file,
                   modeling_utils.safe_save_file is not kept["save"], modeling_utils.safe_open is not kept["open"]]
        autolog.uninstrument()
        restored = [modeling_utils.safe_save_file is kept["save"], modeling_utils.safe_open is kept["open"]]
        print(json.dumps([rebound, restored]))
    """)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [[True, True, True], [True, True]]
