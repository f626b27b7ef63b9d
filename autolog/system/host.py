"""The host name autolog records (task `host`, the owner of pending uploads).

`AUTOLOG_HOST` overrides the system's name: containers or cluster jobs that share a home but get random
host names, or two "machines" simulated on one. Staged bytes of a pending upload are only taken over by a
process whose host name matches the row's owner, so the name must be stable for one file system.
"""

from __future__ import annotations

import os
import socket


def host_name() -> str:
    return os.environ.get("AUTOLOG_HOST") or socket.gethostname()
