"""Terminal output of the `autolog` command line: tables that fit the terminal's width.

Ids are 32 hex characters and URIs often longer than a whole 80-column terminal, so a table that prints them
whole folds each over several lines, and neither can be copied any more. Listings therefore show ids by a
12-character prefix (any unique prefix is accepted back, as with git) and shorten long URIs and paths in
the middle, keeping the scheme, the bucket and the file name (`s3://bucket/…/3_ckpt.pt`). The full values
stay in `--json`, and `autolog show` prints the record's own fields whole, one per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SHORT_ID = 12  # long enough to stay unique in a store of millions of records, as a git short hash
ELLIPSIS = "…"
GAP = 2  # between two columns
FREE_MIN = 10  # a free-text column (a name, tags) folds down to this width before anything else gives way
MIN_URI = 24  # narrower than this, a shortened URI no longer shows where a file is nor what it is called


def short_id(value: str | None) -> str:
    """The id's first `SHORT_ID` characters ("" for None)."""
    return (value or "")[:SHORT_ID]


def shorten_middle(value: str | None, width: int) -> str:
    """`value` in at most `width` characters: the head (scheme and bucket or first folder) and the tail (the file
    name) are kept, the middle becomes "…". Values that fit are returned unchanged."""
    text = value or ""
    if len(text) <= width:
        return text
    width = max(width, 5)
    keep = width - len(ELLIPSIS)
    scheme_end = text.find("://")
    head_end = text.find("/", scheme_end + 3 if scheme_end >= 0 else 1)  # "s3://bucket/" or "/home/"
    tail_start = text.rfind("/")
    head = text[: head_end + 1] if head_end >= 0 else ""
    tail = text[tail_start:] if tail_start > head_end else ""
    if head and tail and len(head) + len(tail) <= keep:  # s3://bucket/…/3_ckpt.pt, then more of the path
        rest = keep - len(head) - len(tail)
        middle = text[len(head) : len(text) - len(tail)]
        before, after = rest // 2, rest - rest // 2
        return head + middle[:before] + ELLIPSIS + middle[len(middle) - after :] + tail
    if tail and len(tail) < keep:  # the file name whole, then as much of the head as fits
        return text[: keep - len(tail)] + ELLIPSIS + tail
    return ELLIPSIS + text[len(text) - keep :]  # a file name longer than the room: its end (the extension)


def console() -> Any:
    """rich's Console: its width follows the terminal, or `COLUMNS`, or 80 when output is not a terminal."""
    from rich.console import Console

    return Console()


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    shorten: Sequence[str] = (),
    free: Sequence[str] = (),
    optional: Sequence[str] = (),
) -> None:
    """A table that fits the terminal: cells never wrap, except the free-text columns named in `free` (names,
    tags), which give way first; the columns named in `shorten` (URIs, paths) are shortened in the middle to
    the width left over (at least `MIN_URI`); the columns named in `optional` are left out, in that order, while
    the rest would not fit (an 80-column terminal has no room for every column of a model)."""
    from rich.table import Table
    from rich.text import Text

    out = console()
    cells = [["" if v is None else str(v) for v in row] for row in rows]

    def need(i: int, column: str) -> int:
        if column in shorten:
            return MIN_URI
        widest = max([len(column), *(len(row[i]) for row in cells)])
        return min(widest, FREE_MIN) if column in free else widest

    shown = list(range(len(columns)))
    for column in optional:
        if sum(need(i, columns[i]) + GAP for i in shown) - GAP <= out.width:
            break
        shown.remove(columns.index(column))
    fixed = sum(need(i, columns[i]) + GAP for i in shown if columns[i] not in shorten) - GAP
    room = max(MIN_URI, (out.width - fixed) // max(1, sum(columns[i] in shorten for i in shown)) - GAP)
    # No box: a vertical rule would cost a column per gap; headers in bold, GAP spaces between columns.
    table = Table(
        title=title, title_justify="left", box=None, pad_edge=False, padding=(0, GAP // 2), header_style="bold"
    )
    for i in shown:
        column = columns[i]
        # Ids and URIs are never folded (they could no longer be copied back); free text gives way.
        table.add_column(column, no_wrap=column not in free, overflow="fold" if column in free else "ellipsis")
    for row in cells:
        table.add_row(*(Text(shorten_middle(row[i], room) if columns[i] in shorten else row[i]) for i in shown))
    out.print(table)


def print_fields(title: str, fields: Sequence[tuple[str, Any]]) -> None:
    """One record's fields whole, one `name  value` per line: a long value runs on as one line (the terminal
    may wrap it on screen, but it is still one line to copy), never folded by the table."""
    out = console()
    out.print(title, style="bold", highlight=False, markup=False)
    name_width = max((len(name) for name, _v in fields), default=0)
    for name, value in fields:
        text = "" if value is None else str(value)
        out.print(f"  {name:<{name_width}}  {text}", soft_wrap=True, highlight=False, markup=False)
