"""``handgrad reproduce``: every check and every run of the assignment, then the report.

    results.py  the result types (`ReproduceResult`, `PartResult`): all the report reads
    parts.py    what a part is (`Part`, `Context`) and the verdicts parts share
    checks.py   the gradient-check parts (2.1 layers, 2.2 network and formulas)
    plan.py     which parts run, at which size (full, quick, smoke): the checks, then
                each registered experiment's own parts (`Experiment.reproduce_parts`)
    runner.py   `reproduce(out, plan)`: runs the parts, writes reproduce.json and the report

This package file imports nothing, so that `handgrad.report` can import the result types
without the runner.
"""
