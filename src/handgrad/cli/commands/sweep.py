"""``handgrad sweep SPEC.toml``: run a command over settings × seeds, locally or on Ray."""

from __future__ import annotations

import argparse

from handgrad.cli import args as types

GROUP = None
NAME = "sweep"
HELP = "run a training command over a grid of settings × seeds (local processes or Ray)"
AGAIN = "run the same sweep again (finished trials are kept, interrupted ones resume)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC.toml", help="the sweep spec (see examples/)")
    parser.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local: a process pool on this machine (default); ray: Ray tasks",
    )
    parser.add_argument(
        "--address",
        help="Ray cluster to run on ('auto': the one started here with 'ray start'; "
        "default: start a local Ray instance)",
    )
    parser.add_argument(
        "--jobs",
        type=types.positive_int,
        help="trials run at once (local) or CPUs of a local Ray instance (default: all cores)",
    )
    types.add_out(parser, what="sweep folder", default="the spec's out, else sweeps/<name>")
    types.add_data_dir(parser, what="the IDX files of MLP / VAE trials")
    parser.add_argument(
        "--dry-run", action="store_true", help="list the trials and their state; run nothing"
    )
    parser.add_argument("--no-plot", action="store_true", help="skip sweep.png")
    types.add_no_progress(parser)


def run(args: argparse.Namespace) -> int:
    from handgrad.errors import HandgradError
    from handgrad.sweep import driver
    from handgrad.sweep.collect import RESULTS_CSV, SUMMARY_CSV, summary_table
    from handgrad.sweep.spec import load_spec

    spec = load_spec(args.spec)
    if args.address and args.backend != "ray":
        raise HandgradError("--address is for the ray backend; add --backend ray")
    if args.dry_run:
        out = args.out or driver.default_out(spec)
        trials, states = driver.plan(spec, out)
        for trial in trials:
            print(f"{states[trial.id]:8s} {trial.id}")
        print(f"{len(trials)} trials in {out}")
        return 0
    outcome = driver.run_sweep(
        spec,
        args.out,
        backend=args.backend,
        jobs=args.jobs,
        address=args.address,
        data_dir=args.data_dir,
        progress=types.show_progress(args),
        plot=not args.no_plot,
    )
    results = outcome.results
    print(summary_table(results, spec))
    for row in results.failed:
        print(f"failed: {row['trial']}: {row['error']}")
    out = outcome.out
    print(f"table: {out / RESULTS_CSV}  summary: {out / SUMMARY_CSV}", end="")
    print(f"  plot: {outcome.plot}" if outcome.plot else "")
    unfinished = sum(r["status"] != "done" for r in results.rows)
    if unfinished:
        print(f"{unfinished} trial(s) not finished; run the same command again to retry them")
        return 1
    return 0
