"""The training runtime every experiment shares.

    experiment.py   the experiment interface: ExperimentConfig, Experiment
    run_options.py  RunOptions: how to run a training, the same for every experiment
    parts.py        what a part of ``handgrad reproduce`` is (Part, Context, the shared
                    verdicts) and a section of the report on parts (Section)
    options.py      a setting declared once (`option`): default, rule, choices, help
    registry.py     the experiments known: built-in, entry points, $HANDGRAD_EXPERIMENTS
    optimizers.py   the one builder of an optimiser and its learning-rate schedule
    loop.py         the epoch loop: checkpoints, safe stops, NaN detection
    checkpoint.py   the run state saved and restored bit for bit
    runs.py         the run directory: config.json, metrics.jsonl, summary.json, weights
    batching.py     the order of the examples and the batches
    numerics.py     where a NaN or Inf first appeared

This file imports nothing, so that importing one of them loads only what it needs.
"""
