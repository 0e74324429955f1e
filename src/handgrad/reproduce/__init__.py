"""``handgrad reproduce``: every check and every run of the assignment, then the report.

    results.py  the result types (`ReproduceResult`, `PartResult`): all the report reads
    checks.py   the gradient-check parts (2.1 layers, 2.2 network and formulas) and
                their section of the report
    plan.py     which parts run, at which size (full, quick, smoke): the checks, then
                each registered experiment's own parts (`Experiment.reproduce_parts`)
    runner.py   `reproduce(out, plan)`: runs the parts, writes reproduce.json and the report

What a part is (`Part`, `Context`, the shared verdicts) is `handgrad.training.parts`,
below both the experiments, which declare parts, and this package, which runs them.

This package file imports nothing, so that `handgrad.report` can import the result types
without the runner.
"""
