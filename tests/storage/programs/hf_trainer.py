"""A user's Hugging Face run: a tiny BERT, a Trainer saving and evaluating every 2 steps (3 checkpoints) with
metric_for_best_model="loss"; argv: output_uri, output_dir. Prints the task id. Used by the storage tests and
`bench/workloads/storage.py`. No hub access: the model is built from a config, the tokenizer locally."""

import sys

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast, Trainer, TrainingArguments

import autolog

task = autolog.init("storage", "hf", output_uri=sys.argv[1])
torch.manual_seed(0)
model = BertForSequenceClassification(
    BertConfig(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        vocab_size=100,
        max_position_embeddings=16,
        num_labels=2,
    )
)
vocab = {"[PAD]": 0, "[UNK]": 1, **{f"w{i}": i + 2 for i in range(20)}}
backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
backend.pre_tokenizer = pre_tokenizers.Whitespace()
tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]")


class Synthetic(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 16

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        return {"input_ids": torch.randint(0, 100, (8,), generator=g), "labels": torch.tensor(i % 2)}


args = TrainingArguments(
    output_dir=sys.argv[2],
    max_steps=6,
    save_steps=2,
    eval_strategy="steps",
    eval_steps=2,
    metric_for_best_model="loss",
    per_device_train_batch_size=8,
    report_to=[],
    logging_steps=1000,
    use_cpu=True,
    disable_tqdm=True,
)
Trainer(model=model, args=args, train_dataset=Synthetic(), eval_dataset=Synthetic(), processing_class=tokenizer).train()
print(task.id)
