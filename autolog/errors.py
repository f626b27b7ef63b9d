"""Exceptions that are part of the public contract."""

from __future__ import annotations


class AutologError(Exception):
    """Base class for errors autolog raises on purpose."""


class NotFoundError(AutologError, LookupError):
    """An id, project/task name or artifact name that the store does not know."""


class IntegrityError(AutologError):
    """Bytes fetched back do not match the recorded hash, or a local file changed since it was recorded."""


class PrunedError(AutologError):
    """The snapshot's bytes were freed by a retention rule (upload state `pruned`); the message names the rule.
    Its record stays: lineage, step and metrics are still there."""


class ConfigError(AutologError, ValueError):
    """A configuration file or value that cannot be used; the message names the file and key."""


class PickleNotAllowedError(AutologError):
    """A pickle artifact was asked for while `allow_pickle` is off."""


class StoreUnavailableError(AutologError):
    """The metadata store (the tracking URL's database) cannot be reached: the server is down, refuses the
    connection, or does not answer within a few seconds. The message shows the URL with its password masked."""


class StoreUnavailable(StoreUnavailableError):
    """Internal: the store cannot take this operation now (not opened, deleted, unwritable, or stopped), and the
    user was already warned once: the public `StoreUnavailableError`, kept apart so background failures of
    this kind are not reported again as internal errors. (Here, not in `autolog.store.client`, so that the worker
    thread's error filter needs no import of the store: `autolog.store.client` imports the worker.)"""
