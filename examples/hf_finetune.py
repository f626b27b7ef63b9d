"""Hugging Face: a Trainer run checkpoints every 2 steps; each `checkpoint-N/` is ONE folder snapshot; a second
task resumes from one and reloads the final model with `from_pretrained`.

    pip install "autolog[torch]" transformers accelerate
    python examples/hf_finetune.py

A tiny BERT built from a config and synthetic token ids: nothing is downloaded, well under a minute on a CPU.
Each snapshot holds everything the folder held when it was written (weights, config, optimizer and scheduler
state, trainer state), so `model.get_local_copy()` gives back a folder `from_pretrained` can load.
"""

from __future__ import annotations

import os
import tempfile

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

import autolog


class SyntheticText(torch.utils.data.Dataset):
    """Token ids whose label is whether token 7 appears: learnable, nothing to download."""

    def __len__(self) -> int:
        return 64

    def __getitem__(self, i: int) -> dict:
        ids = torch.randint(0, 100, (16,), generator=torch.Generator().manual_seed(i))
        return {"input_ids": ids, "labels": torch.tensor(int((ids == 7).any()))}


def arguments(output_dir: str, steps: int) -> TrainingArguments:
    return TrainingArguments(
        output_dir=output_dir,
        max_steps=steps,
        save_steps=2,
        per_device_train_batch_size=16,
        learning_rate=1e-3,
        report_to=[],
        logging_steps=1000,
        use_cpu=True,
        disable_tqdm=True,
    )


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="autolog-hf-")
    output_uri, output_dir = os.path.join(workdir, "snapshots"), os.path.join(workdir, "out")
    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        vocab_size=100,
        max_position_embeddings=32,
        num_labels=2,
    )

    with autolog.init(project="hf-example", task="train", output_uri=output_uri) as first:
        torch.manual_seed(0)
        trainer = Trainer(
            model=BertForSequenceClassification(config), args=arguments(output_dir, 4), train_dataset=SyntheticText()
        )
        trainer.train()
        trainer.save_model(os.path.join(workdir, "final"))
    print("snapshots of task 1:")
    for model in first.models["output"]:
        print(f"  {model.name:14} {model.framework} folder={model.is_dir} {model.size} bytes")

    with autolog.init(project="hf-example", task="resume", output_uri=output_uri) as second:
        trainer = Trainer(
            model=BertForSequenceClassification(config), args=arguments(output_dir, 6), train_dataset=SyntheticText()
        )
        trainer.train(resume_from_checkpoint=os.path.join(output_dir, "checkpoint-2"))
        final = first.models["output"][-1].get_local_copy()  # the folder, downloaded and hash-checked
        BertForSequenceClassification.from_pretrained(final)

    print("lineage of task 2:")
    for model in second.models["input"]:
        producer = model.task
        print(f"  input {model.name:14} made by task {producer.project}/{producer.name} ({producer.id[:8]})")


if __name__ == "__main__":
    main()
