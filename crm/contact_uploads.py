"""Contact files uploaded from the inbox for an import: one folder each, with the mapping and the import's progress.

The folder sits under the imports folder, a sibling of the media folder (never served as is;
with several machines it is shared like the media folder, so a worker reads what the web
stored). It holds the file under its own name, its rejected-rows report (written by
`contact_import` beside it) and `state.json`: the chosen mapping and where the import is.
The import itself is `contact_import.import_contacts`: its job row, keyed by the file's hash
and the mapping, lets an interrupted run continue and makes a second run of a file change nothing.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from werkzeug.utils import secure_filename

from crm import contact_import
from crm.contact_import import CUSTOM, ImportFileError, ImportResult, build_mapping, is_field, text_of

SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
MAX_BYTES = 8_000_000
SAMPLES = 3
STALE_SECONDS = 120  # a run that has said nothing for this long was interrupted (it reports every 1,000 rows)
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
RUNNING = ("queued", "running")


class UploadError(ValueError):
    """A file or a mapping the import screen refuses; `code` and `arg` name the reason for the reader's language."""

    def __init__(self, code: str, arg: str = "") -> None:
        super().__init__(f"{code}:{arg}" if arg else code)
        self.code, self.arg = code, arg


@dataclass(frozen=True)
class Upload:
    """One uploaded file and its folder."""

    token: str
    path: Path

    @property
    def state_path(self) -> Path:
        return self.path.parent / "state.json"

    @property
    def report(self) -> Path:
        """The rejected-rows report (there once a dry run or the import has run)."""
        return contact_import.report_path(self.path)


@dataclass
class Preview:
    """What the mapping step shows: the columns, a few values of each, the mapping guessed from the headers."""

    header: list[str]
    samples: list[list[str]]  # per column
    guessed: dict[int, str]
    rows: int  # an estimate (lines of the file)


def imports_dir(media_dir: str | Path) -> Path:
    """The folder of the uploads: `imports` beside the media folder."""
    return Path(media_dir).resolve().parent / "imports"


def _fail(exc: ImportFileError) -> UploadError:
    return UploadError(f"file_{exc.code}", exc.arg)


def save_upload(*, root: Path, name: str, data: bytes) -> Upload:
    """Keep an uploaded file in a new folder (UploadError, nothing kept, when it is not a contacts file)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise UploadError("file_type")
    if len(data) > MAX_BYTES:
        raise UploadError("file_too_big", str(MAX_BYTES // 1_000_000))
    if not data.strip():
        raise UploadError("file_empty")
    if suffix in (".csv", ".txt") and b"\x00" in data[:65536]:
        raise UploadError("file_not_text")  # a spreadsheet or a picture renamed .csv
    stem = secure_filename(Path(name).stem)[:80] or "contacts"
    token = secrets.token_hex(16)
    folder = root / token
    folder.mkdir(parents=True)
    upload = Upload(token, folder / f"{stem}{suffix}")
    upload.path.write_bytes(data)
    try:
        preview = read_preview(upload)
    except UploadError:
        _remove(folder)
        raise
    write_state(upload, status="uploaded", name=f"{stem}{suffix}", total=preview.rows)
    return upload


def _remove(folder: Path) -> None:
    for item in folder.iterdir():
        item.unlink()
    folder.rmdir()


def open_upload(*, root: Path, token: str) -> Upload:
    """The upload `token` names (LookupError when there is none)."""
    if not _TOKEN.match(token or ""):
        raise LookupError(token)
    state = read_state(Upload(token, root / token / "-"))
    if not state.get("name"):
        raise LookupError(token)
    return Upload(token, root / token / state["name"])


def read_preview(upload: Upload) -> Preview:
    """The columns of the file with a few values each and the mapping its headers suggest."""
    try:
        sheet = contact_import.read_file(upload.path, upload.path.read_bytes())
        first = list(islice(sheet.rows, SAMPLES))
    except ImportFileError as exc:
        raise _fail(exc) from None
    except (csv.Error, ValueError):
        raise UploadError("file_unreadable") from None
    if not any(sheet.header):
        raise UploadError("file_no_header")
    named = [name.strip().lower() for name in sheet.header if name.strip()]
    twice = sorted({name for name in named if named.count(name) > 1})
    if twice:
        raise UploadError("file_same_header", ", ".join(twice))
    samples = [[text_of(row[i]) for row in first if i < len(row) and text_of(row[i])] for i in range(len(sheet.header))]
    try:
        guessed = build_mapping(sheet.header)
    except ImportFileError:
        guessed = {}
    return Preview(sheet.header, samples, guessed, sheet.total)


def overrides_from(header: list[str], choices: dict[int, tuple[str, str]]) -> dict[str, str]:
    """COLUMN → FIELD for the import from the screen's choice per column index: (field or "custom" or "", custom name)."""
    overrides = {}
    for index, name in enumerate(header):
        if not name.strip():
            continue  # a column without a header is never imported
        target, custom = choices.get(index, ("", ""))
        if target == "custom":
            target = CUSTOM + custom.strip()
            if not is_field(target):
                raise UploadError("custom_name", name)
        elif target and not is_field(target):
            raise UploadError("file_unknown_field", target)
        overrides[name] = target
    if not any(target == "name" for target in overrides.values()):
        raise UploadError("no_name_column")
    return overrides


# --- the state file ---------------------------------------------------------------------


def read_state(upload: Upload) -> dict[str, Any]:
    """The upload's mapping and progress ({} when the folder has none)."""
    try:
        return json.loads(upload.state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_state(upload: Upload, **changes: Any) -> dict[str, Any]:
    """Update the state file (replaced whole, so a reader never sees half of it)."""
    state = {**read_state(upload), **changes, "updated_at": time.time()}
    temporary = upload.state_path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state), encoding="utf-8")
    os.replace(temporary, upload.state_path)
    return state


def stalled(state: dict[str, Any]) -> bool:
    """True when a queued or running import has not moved for STALE_SECONDS (its worker stopped)."""
    return state.get("status") in RUNNING and time.time() - state.get("updated_at", 0) > STALE_SECONDS


def counts(result: ImportResult) -> dict[str, int]:
    """The four counts of a result, for the state file and the screen."""
    return {"created": result.created, "merged": result.merged, "unchanged": result.unchanged,
            "rejected": result.rejected}


# --- dry run and import ------------------------------------------------------------------


def dry_run(*, engine: Engine, upload: Upload, overrides: dict[str, str]) -> ImportResult:
    """Plan the import with this mapping (nothing written but the report); keeps the mapping for the import."""
    try:
        result = contact_import.import_contacts(engine=engine, path=upload.path, overrides=overrides, dry_run=True)
    except ImportFileError as exc:
        raise _fail(exc) from None
    except csv.Error:
        raise UploadError("file_unreadable") from None
    write_state(upload, overrides=overrides, dry_run=counts(result))
    return result


def queue_import(upload: Upload) -> bool:
    """Mark the import queued; False when it is already under way (or the mapping was never dry-run)."""
    state = read_state(upload)
    if "overrides" not in state or (state.get("status") in RUNNING and not stalled(state)):
        return False
    write_state(upload, status="queued", error=None)
    return True


def run_import(*, engine: Engine, upload: Upload) -> dict[str, Any]:
    """Import the file with its kept mapping, saying the progress in the state file; the final state.

    One run at a time per upload (a lock file): a second task for the same upload returns at once.
    Resumable: a run after an interrupted one continues from the job's last committed row.
    """
    with (upload.path.parent / "lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_state(upload)
        state = write_state(upload, status="running", done=0)

        def progress(done: int, total: int) -> None:
            write_state(upload, done=done, total=max(total, done))

        try:
            result = contact_import.import_contacts(engine=engine, path=upload.path, overrides=state["overrides"],
                                                    progress=progress)
        except ImportFileError as exc:
            return write_state(upload, status="failed", error=f"file_{exc.code}")
        except csv.Error:
            return write_state(upload, status="failed", error="file_unreadable")
        except Exception:
            write_state(upload, status="failed", error="import_crashed")
            raise  # the queue retries it; the retry continues from the last committed batch
        return write_state(upload, status="done", result=counts(result))
