"""Which hooks the environment turns off: `AUTOLOG_DISABLE=1` (all) and `AUTOLOG_DISABLED_HOOKS=keras,joblib`.

`AUTOLOG_DISABLED_HOOKS` works like OpenTelemetry's `OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`: a comma-separated
list of hook names, read at `import autolog` (so the named hooks never patch) and again at every `init()`.
An unknown name is an error that names the variable: `init` raises it before recording anything; at
`import autolog` it is a warning (an import must not fail), and no hook attaches until `init`.
"""

from __future__ import annotations

import os

DISABLED_HOOKS_VARIABLE = "AUTOLOG_DISABLED_HOOKS"


def disabled_from_environment(known: tuple[str, ...]) -> set[str]:
    """Hooks named in `AUTOLOG_DISABLED_HOOKS`; an unknown name is a ValueError naming the variable."""
    raw = os.environ.get(DISABLED_HOOKS_VARIABLE, "")
    names = {part.strip().lower() for part in raw.split(",") if part.strip()}
    unknown = sorted(names - set(known))
    if unknown:
        raise ValueError(
            f"{DISABLED_HOOKS_VARIABLE} names unknown hook {unknown[0]!r}; known hooks: {', '.join(known)}"
        )
    return names


def apply_environment(wanted: dict[str, bool], known: tuple[str, ...]) -> dict[str, bool]:
    """`wanted` with the hooks the environment turns off set to False (`AUTOLOG_DISABLE` / config `disable`)."""
    from ..config import load_settings

    if load_settings(create=False).disable:  # reading a flag creates no folder (import autolog makes none)
        return {name: False for name in wanted}
    off = disabled_from_environment(known)
    return {name: on and name not in off for name, on in wanted.items()}
