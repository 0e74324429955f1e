"""The gradient doctor: check, locate and name the mistake in hand-derived gradients.

The flow, one module each::

    problems/  the known problems as forward graphs (Block One, MLP, VAE, multi-task);
    own.py     …or the learner's own network, from INPUTS/PARAMS/STEPS in their file
    graph.py   Problem and Step; random batches; the truth by autograd (and finite differences)
    load.py    the learner's grad_<quantity>(q) functions, from a file, module, namespace or dict
    call.py    one formula called safely: time limit, prints to stderr, one-line errors
    judge.py   every formula against the truth, in backward order, one Verdict each
    ops.py     the operations of the graphs and their catalogued wrong derivatives
    mistakes.py  the mistake catalogue generated from a graph; a backward pass that makes them
    inherit.py   "inherits the error of …", proven: the formula re-run with the true upstream
    diagnose.py  the exact, unique match (or "no known mistake matches")
    verdict.py   Verdict and Report: text table, JSON (handgrad.formulas/1), HTML with heatmaps
    listing.py   --list and --template
    check.py     the entry points: check_file (the CLI) and check_formulas (Python, notebooks)
"""

from handgrad.checks.doctor.check import check_file, check_formulas
from handgrad.checks.doctor.verdict import Report, Verdict

__all__ = ["Report", "Verdict", "check_file", "check_formulas"]
