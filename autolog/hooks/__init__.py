"""Framework hooks: `autolog.hooks.<name>`, one module per framework, kept in the repository's top-level
`hooks/` folder (the design card's layout).

A built wheel copies `hooks/*.py` into this package (pyproject's force-include). An editable install or a
plain checkout on `sys.path` imports this file from the source tree instead, so its package path also
points at the checkout's `hooks/` folder: the same modules resolve in every kind of install, and no
top-level `hooks` package is ever importable.
"""

from __future__ import annotations

import os

_checkout_hooks = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "hooks")
if os.path.isfile(os.path.join(_checkout_hooks, "torch.py")) and _checkout_hooks not in __path__:
    __path__.append(_checkout_hooks)
