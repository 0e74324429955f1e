"""``handgrad data info``: which folder each dataset is read from and why, its sizes,
or what is missing and how to get it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from handgrad.data.mnist import (
    DATASETS,
    ENV_VAR,
    FILES,
    Location,
    cache_dir,
    explicit_problem,
    locate_dataset,
    read_located,
    search_locations,
    verify_dataset,
    where_to_put,
)

GROUP = "data"
NAME = "info"
HELP = (
    "show which folder each dataset is read from and why, and its sizes, or how to get "
    "it (exit 1 if missing)"
)


def add_dataset_arguments(
    parser: argparse.ArgumentParser, *, default: str, data_dir_help: str
) -> None:
    """The ``--dataset`` and ``--data-dir`` flags shared by the ``data`` commands."""
    parser.add_argument(
        "--dataset",
        choices=[*sorted(DATASETS), "all"],
        default=default,
        help=f"which dataset (default: {default})",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help=data_dir_help,
    )


def selected(args: argparse.Namespace) -> list[str]:
    """The dataset names a ``--dataset`` value stands for."""
    return sorted(DATASETS) if args.dataset == "all" else [args.dataset]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset_arguments(
        parser,
        default="all",
        data_dir_help="folder holding DIR/<dataset>/ (or the four files directly); the only "
        "place searched (default: $HANDGRAD_DATA if set, else the user cache and system "
        "folders)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="also compare each file's SHA-256 with the published checksum (slower)",
    )


def run(args: argparse.Namespace) -> int:
    ok = True
    for i, name in enumerate(selected(args)):
        if i:
            print()
        ok &= _report(name, args.data_dir, verify=args.verify)
    return 0 if ok else 1


def _report(name: str, data_dir: Path | None, *, verify: bool) -> bool:
    """Print one dataset's block; return whether it is present (and verified, if asked)."""
    spec = DATASETS[name]
    print(f"{name}: {spec.title}, license {spec.license}")
    loc = locate_dataset(name, data_dir)
    if loc is None:
        problem = explicit_problem(name, data_dir)
        if problem is not None:
            print(f"  missing: {problem}")
            return False
        print("  not found; searched:")
        searched = search_locations(name, data_dir)
        width = max(len(s.origin) for s in searched)
        for s in searched:
            print(f"    {s.origin:<{width}}  {s.path}")
        print(f"  to get it: {where_to_put(name, cache_dir(name))}")
        return False
    print(f"  read from {loc.path} ({_why(loc)})")
    raw = read_located(name, loc)
    for part, (images, labels) in raw.items():
        h, w = images.shape[1:]
        print(
            f"  {part + ':':<7}{len(images):>6} images {h}x{w} {images.dtype}, "
            f"{len(labels)} labels in 0..{int(labels.max())}"
        )
    print(f"  classes: {', '.join(spec.classes)}")
    if not verify:
        return True
    bad = [f for f, good in verify_dataset(name, loc.path).items() if not good]
    if bad:
        print(f"  checksums: MISMATCH for {', '.join(bad)} (not the published data)")
        return False
    print(f"  checksums: all {len(FILES)} files match")
    return True


def _why(loc: Location) -> str:
    """Why ``loc`` is the folder read: named by the flag or the variable, or found."""
    env = os.environ.get(ENV_VAR)
    if loc.origin == "--data-dir":
        return "named with --data-dir" + (f"; {ENV_VAR}={env} is not used" if env else "")
    if loc.origin == ENV_VAR:
        return f"named by {ENV_VAR}={env}"
    return f"{loc.origin}: no --data-dir or {ENV_VAR} names a folder"
