"""Pipeline: a snapshot's way from "the save returned" to "its bytes are durable where they belong".

`session` (the background machinery of one autolog home in this process), `staging` (freezing a save's bytes
by hard link the moment it returns), `recorder` (hashing and lineage, in call order), `uploader` (copying
staged bytes to the `output_uri`) and `sync` (finishing what a process left behind).
"""
