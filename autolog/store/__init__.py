"""Store: the records (tasks, models, artifacts, links), in SQLite or PostgreSQL.

`client` (`Store`: the store as the rest of autolog sees it, served by one background thread), `ops` (its
typed operations), `sql` (every read and write, as functions over rows), `schema` (tables and migrations),
`queries` (the reads that must stay fast at millions of rows), `journal` (a save is on disk before it
returns, whatever happens to the store) and `tracking` (checking a tracking URL without importing
SQLAlchemy). Importing this package imports nothing: SQLAlchemy loads only with `client`, `sql`, `schema`.
"""
