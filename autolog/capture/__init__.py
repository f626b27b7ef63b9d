"""Capture: from "a framework saved or loaded that" to one call on the run.

`instrumentation` (the `Hook` base class and registry: patching when a framework is imported, unpatching),
`importhooks` (post-import callbacks), `aliases` (rebinding names bound early with `from x import f`),
`hookenv` (hooks the environment turns off), `wrappers` (the one wrapper shape: guarded before, the user's
call once, guarded after) and `recording` (what a wrapper tells the current task). Hooks in
`autolog.hooks` import from `autolog.capture.api` only.
"""
