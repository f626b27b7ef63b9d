"""Run: the domain a user sees. A `Task` (one run of training code), its `Model` snapshots and `Artifact`s.

`task`, `model`, `artifact`, `artifact_inputs` (which task fetched which artifact), `current` (the process's
current task and session), `layout` (where a task's records are stored and how they are numbered), `target`
(what a hook saw a framework save or load), `remote_models` (snapshots a framework wrote to remote storage
itself) and `taskref` (how `model` and `artifact`, below `task`, reach `Task`).
"""
