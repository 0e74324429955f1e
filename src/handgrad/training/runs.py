"""Run directories: where one training run keeps its config, metrics, weights and figures.

Layout of a run directory::

    config.json      every setting of the run (enough to repeat it); after a resume that
                     extended or changed it, the settings now in force
    history.jsonl    one JSON object per session: started, resumed (after which epoch,
                     with which changed settings), each with its provenance
    provenance.json  the engine, versions, cores and data checksums of the last session
                     (`handgrad.training.provenance`)
    metrics.jsonl    one JSON object per epoch, appended as the run goes
    summary.json     the final numbers, written at the end
    evaluation.json  written by ``handgrad evaluate``
    weights.npz      the final parameters and buffers (no pickles)
    *.png            figures

Everything is written through `handgrad.io.atomic_write`, so a killed run never
leaves a half-written file behind.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

from handgrad.errors import HandgradError, fault
from handgrad.io import atomic_write, lock_folder


def to_jsonable(obj: Any) -> Any:
    """``obj`` with NumPy scalars and arrays, tuples and paths turned into JSON types."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


T = TypeVar("T")


def load_config(run_dir: str | Path, cls: type[T], model: str) -> T:
    """The dataclass ``cls`` saved as config.json of a ``model`` run (extra keys ignored)."""
    if not (Path(run_dir) / "config.json").is_file():
        raise HandgradError(
            f"{run_dir} is not a handgrad run directory (no config.json); "
            "pass a directory written by a training command"
        )
    raw = read_json(Path(run_dir) / "config.json")
    if not isinstance(raw, dict) or raw.get("model") != model:
        found = raw.get("model") if isinstance(raw, dict) else None
        raise HandgradError(f"{run_dir} is not a {model} run (model={found!r})")
    known = cls.__dataclass_fields__  # type: ignore[attr-defined]
    if "engine" in known:  # runs from before the engine option were trained with NumPy
        raw.setdefault("engine", "numpy")
    try:
        return cls(**{k: v for k, v in raw.items() if k in known})
    except TypeError as e:
        raise HandgradError(f"{run_dir}/config.json does not fit this version ({e})") from None


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_write(path, "w") as f:
        json.dump(to_jsonable(obj), f, indent=2)
        f.write("\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON file, with a one-line `HandgradError` if it is missing or malformed."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise HandgradError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise HandgradError(f"{path}: not valid JSON ({e})") from None


def save_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Save named arrays as an uncompressed ``.npz``, atomically."""
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Load an ``.npz`` written by `save_arrays` without ever unpickling.

    Raises `HandgradError` with the file name if it is missing, truncated or not an npz.
    """
    path = Path(path)
    if not path.is_file():
        raise HandgradError(f"{path}: file not found")
    try:  # reading is the machine's part: permission denied, I/O error, …
        raw = path.read_bytes()
    except OSError as e:
        raise fault(e, path, doing=f"reading {path}", reading=True) from e
    try:  # parsing is the bytes' part: any failure means a bad file (even an OSError
        # such as EINVAL from a seek that a corrupt zip directory asks for)
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as e:  # untrusted bytes
        raise HandgradError(
            f"{path}: not a readable weights file ({type(e).__name__}); re-create it"
        ) from None


class Run:
    """A run directory being written by a training command.

    ``Run(out_dir, config)`` creates the directory (refusing to mix a new run into a
    directory that already holds one, unless ``overwrite``) and writes ``config.json``.
    While the `Run` lives, its process holds the directory's lock
    (`handgrad.io.lock_folder`): a second process writing a run there is refused.
    """

    def __init__(self, directory: str | Path, config: dict[str, Any], *, overwrite: bool = False):
        self.path = Path(directory)
        self._lock = _claim(self.path)
        if (self.path / "config.json").exists() and not overwrite:
            raise HandgradError(
                f"{self.path} already holds a run; choose another --out or pass --overwrite"
            )
        if overwrite:
            self._remove_previous_run()
        self.config = dict(config)
        write_json(self.path / "config.json", self.config)

    # Files a run writes; --overwrite removes exactly these (and figures), nothing else.
    RUN_FILES = (
        "metrics.jsonl",
        "summary.json",
        "weights.npz",
        "checkpoint.npz",
        "history.jsonl",
        "provenance.json",
        "evaluation.json",
    )
    # What describes the finished run; a resume that trains further removes them first.
    FINAL_FILES = ("summary.json", "evaluation.json")

    def _remove_previous_run(self) -> None:
        for name in self.RUN_FILES:
            (self.path / name).unlink(missing_ok=True)
        for figure in self.path.glob("*.png"):
            figure.unlink()

    @classmethod
    def reopen(
        cls,
        directory: str | Path,
        metrics: list[dict[str, Any]],
        config: dict[str, Any] | None = None,
        *,
        more_to_train: bool = False,
    ) -> Run:
        """Continue writing an existing run whose checkpoint holds ``metrics``.

        metrics.jsonl is rewritten (atomically) from the checkpoint's metrics, dropping
        any line logged after the checkpoint was taken. ``config`` (the settings now in
        force, e.g. more epochs) replaces config.json; with ``more_to_train`` the files
        describing the finished run (`FINAL_FILES`) are removed: they no longer hold.
        """
        run = cls.__new__(cls)
        run.path = Path(directory)
        run._lock = _claim(run.path)
        run.config = read_json(run.path / "config.json") if config is None else dict(config)
        if config is not None:
            write_json(run.path / "config.json", run.config)
        if more_to_train:
            for name in cls.FINAL_FILES:
                (run.path / name).unlink(missing_ok=True)
        with atomic_write(run.path / "metrics.jsonl", "w") as f:
            f.writelines(json.dumps(to_jsonable(row)) + "\n" for row in metrics)
        return run

    def log(self, **metrics: Any) -> None:
        """Append one epoch's metrics as a JSON line (written at once, or not at all)."""
        _append_line(self.path / "metrics.jsonl", metrics)

    def record(self, **event: Any) -> None:
        """Append one event (a session started or resumed) to history.jsonl."""
        _append_line(self.path / "history.jsonl", event)

    def file(self, name: str) -> Path:
        """Path of a file inside the run directory."""
        return self.path / name


def _append_line(path: Path, obj: dict[str, Any]) -> None:
    """Append ``obj`` to the JSON-lines file ``path``: the whole line, or nothing."""
    data = (json.dumps(to_jsonable(obj)) + "\n").encode()
    try:
        with open(path, "ab", buffering=0) as f:
            end = f.seek(0, os.SEEK_END)
            try:
                while data:
                    data = data[f.write(data) :]
            except BaseException:  # a full disk, Ctrl-C: no partial line
                f.truncate(end)
                raise
    except OSError as e:
        raise fault(e, path, doing=f"appending to {path}", kept=f"{path.name} is as before") from e


def _claim(directory: Path) -> IO:
    """Lock the run directory for this process (`handgrad.io.lock_folder`), then remove
    the temporary files a killed process may have left: no other process writes them."""
    lock = lock_folder(directory)
    for stale in directory.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    return lock


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The per-epoch metrics of a run, as a list of dicts."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise HandgradError(f"{path}: file not found; is {run_dir} a handgrad run directory?")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise HandgradError(f"{path}:{n}: malformed metrics line") from None
    return rows
