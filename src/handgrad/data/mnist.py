"""MNIST and Fashion-MNIST: where the files are, how to get them, and loading them.

Both datasets are four IDX files with the same names (`FILES`): 60,000 training and
10,000 test images of 28x28 uint8 pixels, and their labels 0..9.

Where the files are read from (`search_locations`):

* A folder named explicitly — ``data_dir`` (the CLI's ``--data-dir``), else the
  ``HANDGRAD_DATA`` environment variable — is the only place looked at, as
  ``<dir>/<name>/`` or, unless the folder is named after another dataset, the four files
  directly in ``<dir>``. If it does not exist or lacks a file, loading fails with a
  one-line error (`explicit_problem`): a named folder is never silently replaced by
  another one, nor filled by a download the user did not ask for.
* Otherwise, first match wins: the user cache,
  ``platformdirs.user_cache_dir("handgrad")/<name>``; then system folders of the dataset
  (Fashion-MNIST: Debian's ``dataset-fashion-mnist`` package installs
  ``/usr/share/datasets/fashion-mnist/``); then `load_dataset` downloads into the cache
  from the public mirrors, verified against the SHA-256 of the uncompressed files. A
  damaged file found there is a fault of the machine (`MachineFault`), fixed by
  ``handgrad data download``.

Each file may be gzip-compressed (``name.gz``, preferred when both exist) or raw.
Loading validates the structure (shapes, counts, labels in range) rather than hashing
47 MB every time; checksums are verified on download (and by `verify_dataset`).

Registering another entry in `DATASETS` (same four file names, its own checksums and
mirrors) makes it loadable everywhere; the tests use this to serve small datasets.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from platformdirs import user_cache_dir

from handgrad.data.download import content_matches, fetch_verified
from handgrad.data.idx import DamagedFile, read_idx
from handgrad.errors import HandgradError, MachineFault, fault

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
#: The four file names (uncompressed; ``.gz`` is appended for the compressed form).
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
ENV_VAR = "HANDGRAD_DATA"


@dataclass(frozen=True)
class DatasetSpec:
    """What identifies a dataset: its files' checksums, mirrors, classes and sizes.

    ``sha256`` maps each name in `FILES` to the SHA-256 of its *uncompressed* content.
    ``mirrors`` are base URLs; a file is fetched from ``<mirror><name>.gz``.
    ``system_dirs`` are (label, folder) pairs where an OS package installs the files.
    """

    name: str
    title: str
    sha256: dict[str, str]
    mirrors: tuple[str, ...]
    classes: tuple[str, ...]
    license: str
    n_train: int = 60000
    n_test: int = 10000
    image_shape: tuple[int, int] = (28, 28)
    system_dirs: tuple[tuple[str, Path], ...] = ()


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST handwritten digits (LeCun, Cortes, Burges)",
        sha256={
            TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        classes=tuple(str(d) for d in range(10)),
        license="CC BY-SA 3.0",
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST (Zalando Research)",
        sha256={
            TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        ),
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        license="MIT",
        system_dirs=(
            ("Debian package dataset-fashion-mnist", Path("/usr/share/datasets/fashion-mnist")),
        ),
    ),
}


@dataclass(frozen=True)
class Split:
    """One part of a dataset: ``x`` (n, 784) floats, ``y`` (n,) int64 class indices."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True, kw_only=True)
class ImageDataset:
    """A loaded dataset.

    Every ``x`` holds ``(pixel / 255 - mean) / std`` for flattened 28x28 images, so
    ``mean = 0, std = 1`` (no standardisation) gives pixels in [0, 1]; ``mean`` and
    ``std`` are global (one number each, over all training pixels), so new images are
    prepared the same way. ``val`` is None when no validation examples were held out.
    """

    name: str
    train: Split
    test: Split
    val: Split | None
    classes: list[str]
    image_shape: tuple[int, int] = (28, 28)
    source: Path
    mean: float = 0.0
    std: float = 1.0


@dataclass(frozen=True)
class Location:
    """A folder searched for a dataset and why it was searched (``origin``: "--data-dir",
    "HANDGRAD_DATA", "user cache" or a system folder's label); ``explicit`` if named by
    the user, and then the only place searched."""

    path: Path
    origin: str
    files: dict[str, Path] = field(default_factory=dict)
    explicit: bool = False


def get_spec(name: str) -> DatasetSpec:
    """The registered `DatasetSpec` called ``name``; unknown names raise `HandgradError`."""
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        choices = ", ".join(sorted(DATASETS))
        raise HandgradError(f"unknown dataset {name!r}; choose one of: {choices}") from None


def cache_dir(name: str) -> Path:
    """Where downloads of dataset ``name`` go by default: the user cache folder."""
    return Path(user_cache_dir("handgrad")) / name


def dataset_files(folder: Path) -> dict[str, Path] | None:
    """The four files of a dataset in ``folder`` (``name.gz`` or ``name``), or None.

    Returns None unless all four are present; ``.gz`` wins when both forms exist.
    """
    found = {name: _pick(folder, name) for name in FILES}
    try:
        if not all(p.is_file() for p in found.values()):
            return None
    except OSError as e:  # e.g. a folder that may not be searched
        raise fault(e, folder, doing=f"looking for dataset files in {folder}", reading=True) from e
    return found


def _pick(folder: Path, name: str) -> Path:
    """The file that stands for ``name`` in ``folder``: ``name.gz`` if it exists, else ``name``."""
    gz = folder / f"{name}.gz"
    return gz if os.path.isfile(gz) else folder / name


def explicit_folder(data_dir: str | os.PathLike | None = None) -> tuple[Path, str] | None:
    """The folder the user named — ``data_dir``, else ``$HANDGRAD_DATA`` — and its origin
    ("--data-dir" or "HANDGRAD_DATA"), or None if neither is set."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "--data-dir"
    env = os.environ.get(ENV_VAR)
    return (Path(env).expanduser(), ENV_VAR) if env else None


def search_locations(name: str, data_dir: str | os.PathLike | None = None) -> list[Location]:
    """Every folder searched for dataset ``name``, in order (see the module docstring)."""
    spec = get_spec(name)
    named = explicit_folder(data_dir)
    if named is not None:
        root, origin = named
        locations = [Location(root / name, origin, explicit=True)]
        if root.name == name or root.name not in DATASETS:
            locations.append(Location(root, origin, explicit=True))
        return locations
    return [
        Location(cache_dir(name), "user cache"),
        *(Location(path, label) for label, path in spec.system_dirs),
    ]


def locate_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Location | None:
    """The first searched `Location` holding all four files (with ``files`` filled in)."""
    for loc in search_locations(name, data_dir):
        files = dataset_files(loc.path)
        if files is not None:
            return Location(loc.path, loc.origin, files, loc.explicit)
    return None


def find_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder holding dataset ``name`` (first match in the search order), or None."""
    loc = locate_dataset(name, data_dir)
    return None if loc is None else loc.path


def explicit_problem(name: str, data_dir: str | os.PathLike | None = None) -> str | None:
    """Why the folder the user named does not provide dataset ``name``, in one line with
    the fix; None if it does, or if no folder was named."""
    named = explicit_folder(data_dir)
    if named is None or locate_dataset(name, data_dir) is not None:
        return None
    root, origin = named
    given = f"--data-dir {root}" if origin == "--data-dir" else f"{ENV_VAR}={root}"
    env = os.environ.get(ENV_VAR)
    if origin == ENV_VAR:
        instead = f"unset {ENV_VAR} to use the user cache"
    elif env:
        instead = f"drop --data-dir to use {ENV_VAR}={env}"
    else:
        instead = "drop --data-dir to use the user cache"
    if not os.path.exists(root):
        return (
            f"{given}: no such folder, and a named folder is never replaced by another; "
            f"fix the path, or {instead}"
        )
    if not os.path.isdir(root):
        return f"{given}: not a folder; name the folder that holds {name}/ or its files"
    searched = [loc.path for loc in search_locations(name, data_dir)]
    best = max(searched, key=lambda d: sum(os.path.isfile(_pick(d, f)) for f in FILES))
    missing = ", ".join(f for f in FILES if not os.path.isfile(_pick(best, f)))
    return (
        f"{given}: {best} lacks {missing} (.gz or raw) of {name}; put the files there, "
        f"or fetch them with 'handgrad data download --dataset {name} --data-dir {root}', "
        f"or {instead}"
    )


def default_destination(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Where ``handgrad data download`` puts ``name``: ``<named folder>/<name>`` if a
    folder was named (``data_dir`` or ``$HANDGRAD_DATA``), else the user cache."""
    named = explicit_folder(data_dir)
    return named[0] / name if named is not None else cache_dir(name)


def where_to_put(name: str, folder: str | os.PathLike | None = None) -> str:
    """One clause telling the user where to put the files of dataset ``name``.

    ``folder`` is the suggested destination (default: `cache_dir`).
    """
    dest = Path(folder) if folder is not None else cache_dir(name)
    files = ", ".join(f"{f}.gz" for f in FILES)
    return (
        f"put {files} in {dest} (or in DIR/{name} and pass --data-dir DIR or set "
        f"{ENV_VAR}=DIR), or run 'handgrad data download --dataset {name}' where the "
        f"internet is reachable"
    )


def download_dataset(
    name: str,
    dest: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
) -> Path:
    """Download the four files of ``name`` into ``dest`` (default: `cache_dir`); return it.

    Files already in ``dest`` with the right content are kept. Each other file is fetched
    from ``mirrors`` (base URLs; default the dataset's own), tried in order, verified
    against the SHA-256 of its uncompressed content and written atomically. If a file
    cannot be had from any mirror, raises `MachineFault` naming each mirror's problem
    and where to put the files by hand.
    """
    spec = get_spec(name)
    dest = Path(dest) if dest is not None else cache_dir(name)
    bases = spec.mirrors if mirrors is None else tuple(mirrors)
    for fname, sha in spec.sha256.items():
        if content_matches(_pick(dest, fname), sha):
            continue
        urls = [f"{base.rstrip('/')}/{fname}.gz" for base in bases]
        otherwise = where_to_put(name, dest)
        fetch_verified(urls, sha, dest / fname, progress=progress, otherwise=otherwise)
    return dest


def verify_dataset(name: str, folder: str | os.PathLike) -> dict[str, bool]:
    """For each of the four files in ``folder``: does its content match the checksum?"""
    spec = get_spec(name)
    files = dataset_files(Path(folder)) or {}
    return {f: f in files and content_matches(files[f], spec.sha256[f]) for f in FILES}


def read_raw(name: str, folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The uint8 images ``(n, h, w)`` and labels ``(n,)`` of both parts, fully validated.

    Returns ``{"train": (images, labels), "test": (images, labels)}``. Raises
    `HandgradError` naming the file for a damaged file, a wrong shape or dtype, an image
    count different from the label count or from the dataset's size, or a label outside
    ``0 .. len(classes) - 1``.
    """
    spec = get_spec(name)
    files = dataset_files(folder)
    if files is None:
        raise HandgradError(
            f"{folder} does not hold the {name} files; {where_to_put(name, folder)}"
        )
    parts = {
        "train": (TRAIN_IMAGES, TRAIN_LABELS, spec.n_train),
        "test": (TEST_IMAGES, TEST_LABELS, spec.n_test),
    }
    out = {}
    for part, (img_name, lab_name, n) in parts.items():
        img_path, lab_path = files[img_name], files[lab_name]
        images, labels = read_idx(img_path), read_idx(lab_path)
        _check_part(spec, img_path, images, lab_path, labels, n)
        out[part] = (images, labels)
    return out


def read_located(name: str, loc: Location) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`read_raw` of the folder `locate_dataset` found. A damaged file there is bad input
    if the user named the folder, and a fault of the machine (`MachineFault`) in the
    user cache or a system folder, which only verified downloads and packages fill."""
    try:
        return read_raw(name, loc.path)
    except DamagedFile as e:
        if loc.explicit:
            raise
        raise MachineFault(
            f"{e.path}: {e.problem}, in the {loc.origin} {loc.path}",
            path=e.path,
            kept="no file was changed",
            remedy=f"replace it with 'handgrad data download --dataset {name}' "
            "(it keeps the good files)",
        ) from None


def _check_part(
    spec: DatasetSpec,
    img_path: Path,
    images: np.ndarray,
    lab_path: Path,
    labels: np.ndarray,
    n: int,
) -> None:
    fix = f"replace it with a good copy ('handgrad data download --dataset {spec.name}')"

    def damaged(path: Path, problem: str) -> DamagedFile:
        return DamagedFile(path, problem, fix)

    h, w = spec.image_shape
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (h, w):
        raise damaged(
            img_path,
            f"expected uint8 images of shape (n, {h}, {w}), found {images.dtype} {images.shape}",
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise damaged(
            lab_path, f"expected a 1-D uint8 label array, found {labels.dtype} {labels.shape}"
        )
    if len(images) != len(labels):
        raise damaged(
            img_path,
            f"has {len(images)} images but {lab_path} has {len(labels)} labels; "
            "the files do not belong together",
        )
    if len(images) != n:
        raise damaged(img_path, f"expected {n} images, found {len(images)}")
    k = len(spec.classes)
    if labels.size and int(labels.max()) >= k:
        raise damaged(lab_path, f"label {int(labels.max())} is outside 0..{k - 1}")


def load_dataset(
    name: str = "mnist",
    data_dir: str | os.PathLike | None = None,
    *,
    validation: int = 0,
    standardize: bool = False,
    download: bool = True,
    seed: int = 0,
    dtype: type | np.dtype | str = np.float32,
) -> ImageDataset:
    """Load MNIST or Fashion-MNIST as float images ``(n, 784)`` and int64 labels ``(n,)``.

    Args:
        name: a key of `DATASETS` ("mnist" or "fashion-mnist").
        data_dir: a folder searched first (see the module docstring for the order).
        validation: how many training examples to hold out as ``val``; which ones is a
            seeded random choice; both parts keep the files' order.
        standardize: if True, ``x = (pixel/255 - mean) / std`` with one global ``mean``
            and ``std`` over all pixels of the (remaining) training images, applied to
            every part. Global rather than per pixel: MNIST's border pixels are always 0,
            so a per-pixel std would divide by zero.
        download: fetch the files if no local copy is found; if False, a missing
            dataset raises `HandgradError` saying where to put the files.
        seed: seeds the validation split.
        dtype: float32 (default, for training) or float64.
    """
    spec = get_spec(name)
    dt = _float_dtype(dtype)
    n_val = _validation_count(validation, spec.n_train)
    loc = locate_dataset(name, data_dir)
    if loc is None:
        problem = explicit_problem(name, data_dir)
        if problem is not None:
            raise HandgradError(problem)
        if not download:
            raise HandgradError(f"{name} not found; {where_to_put(name, cache_dir(name))}")
        loc = Location(download_dataset(name, cache_dir(name)), "user cache")
    folder = loc.path
    raw = read_located(name, loc)
    train_img, train_lab = raw["train"]
    val_raw = None
    if n_val:
        held_out = np.zeros(len(train_lab), dtype=bool)
        held_out[np.random.default_rng(seed).choice(len(train_lab), n_val, replace=False)] = True
        val_raw = (train_img[held_out], train_lab[held_out])
        train_img, train_lab = train_img[~held_out], train_lab[~held_out]
    mean, std = _pixel_stats(train_img) if standardize else (0.0, 1.0)

    def split(images: np.ndarray, labels: np.ndarray) -> Split:
        # One pass that casts while it divides: several times faster than astype + /=,
        # and the same numbers.
        x = np.divide(images.reshape(len(images), -1), dt.type(255.0 * std), dtype=dt)
        if mean:
            x -= dt.type(mean / std)
        return Split(x=x, y=labels.astype(np.int64))

    return ImageDataset(
        name=name,
        train=split(train_img, train_lab),
        test=split(*raw["test"]),
        val=None if val_raw is None else split(*val_raw),
        classes=list(spec.classes),
        image_shape=spec.image_shape,
        source=folder,
        mean=mean,
        std=std,
    )


def _pixel_stats(images: np.ndarray) -> tuple[float, float]:
    """Exact global mean and std of ``images / 255`` (uint8), from integer sums.

    With ``s1 = Σ p`` and ``s2 = Σ p²`` over N pixels: ``mean = s1 / (255 N)``,
    ``std = sqrt(s2 / N - (s1 / N)²) / 255``. A constant image set gets std 1, so the
    result is centred, not divided by zero.
    """
    flat = images.reshape(-1)
    n = flat.size
    if n == 0:
        return 0.0, 1.0
    s1 = int(flat.sum(dtype=np.uint64))
    sq = flat.astype(np.uint16)  # 255² = 65025 fits in uint16
    np.square(sq, out=sq)
    s2 = int(sq.sum(dtype=np.uint64))
    var = (s2 * n - s1 * s1) / (n * n)  # exact integer numerator
    std = float(np.sqrt(var)) / 255.0
    return s1 / n / 255.0, std if std > 0 else 1.0


def _float_dtype(dtype: type | np.dtype | str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise HandgradError(f"dtype must be float32 or float64, got {dtype!r}; pick one of those")
    return dt


def _validation_count(validation: int, n_train: int) -> int:
    if isinstance(validation, bool) or not isinstance(validation, int | np.integer):
        raise HandgradError(
            f"validation must be a whole number of examples, got {validation!r}; "
            f"e.g. validation=10000"
        )
    if not 0 <= validation < n_train:
        raise HandgradError(
            f"validation={validation} must be in 0..{n_train - 1} (the training set has "
            f"{n_train} examples); choose a smaller number"
        )
    return int(validation)
