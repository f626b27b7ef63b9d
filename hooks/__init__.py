"""Framework hooks, installed as `autolog.hooks.<name>` (this folder is mapped into the wheel).

One module per framework, each defining `HOOK`, a subclass of `autolog.instrumentation.Hook`. A module here
is imported only when its framework is imported (post-import callbacks that `import autolog` registers),
never at `import autolog` itself.
The list of names is `autolog.instrumentation.HOOK_NAMES`.
"""
