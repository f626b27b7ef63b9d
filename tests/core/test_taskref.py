"""`Model.task`, `Model.consumers` and `Artifact.consumers` hand out `Task` objects although `model` and
`artifact` never import `task` (`autolog.run.taskref`): they work in a fresh process whose code never touched
`autolog.Task`, where `autolog.run.task` is imported only when the first Task object is made."""

from __future__ import annotations

from pathlib import Path


def test_a_models_task_and_an_artifacts_consumers_in_a_fresh_process(run_py, tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"w" * 100)
    (tmp_path / "vocab.txt").write_text("a b c")
    producer = run_py("""
        import autolog
        task = autolog.init("graph", "train")
        task.register_model("weights.bin")
        task.upload_artifact("vocab", "vocab.txt", wait=True)
        print(task.id)
    """).stdout.strip()
    consumer = run_py(f"""
        import autolog
        task = autolog.init("graph", "tune")
        autolog.Task.get_task({producer!r}).artifacts["vocab"].get_local_copy()
        print(task.id)
    """).stdout.strip()
    out = run_py(f"""
        import sys, autolog
        model = autolog.Model.query(name="weights.bin")[0]
        assert "autolog.run.task" not in sys.modules
        producer = model.task
        print(type(producer).__module__, producer.id, producer.status, model.consumers)
        artifact = autolog.Task.get_task({producer!r}).artifacts["vocab"]
        print([t.id for t in artifact.consumers])
    """).stdout.split("\n")
    assert out[0] == f"autolog.run.task {producer} completed []"
    assert out[1] == str([consumer])
