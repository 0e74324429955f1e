"""handgrad: neural networks whose every gradient is derived by hand, in NumPy.

The library is importable without the CLI::

    import numpy as np
    from handgrad import nn, optim

    net = nn.Sequential(nn.Linear(784, 50, rng=np.random.default_rng(0)), nn.ReLU(),
                        nn.Linear(50, 10, rng=np.random.default_rng(1)))
    loss_fn = nn.SoftmaxCrossEntropy()
    loss = loss_fn.forward(net.forward(x), labels)
    net.zero_grad()
    net.backward(loss_fn.backward(), input_grad=False)   # x is data: skip ∂L/∂x

Most used names are here: ``nn``, ``optim``, ``models`` and `MLP`, `VAE`,
`MultiTaskNet`, `check_module`, `HandgradError`, `MachineFault`, and `check_formulas`,
the gradient doctor for hand-derived formulas, e.g. in a notebook::

    import handgrad
    handgrad.check_formulas({"b2B": my_grad_b2B}, problem="multitask")   # a table in Jupyter

and `check_report`, the same doctor on a written report (Markdown + LaTeX, .tex, .ipynb)::

    handgrad.check_report("my_report.md")   # one row per gradient equation
"""

import handgrad.blas_env  # noqa: F401  (first: sets OpenBLAS defaults before NumPy loads it)
from handgrad import models, nn, optim
from handgrad.errors import HandgradError, MachineFault
from handgrad.gradcheck import check_module
from handgrad.models import MLP, VAE, MultiTaskNet
from handgrad.training.experiment import Experiment, ExperimentConfig, RunOptions
from handgrad.training.options import option
from handgrad.training.registry import register as register_experiment

__version__ = "0.1.0"
__all__ = [
    "MLP",
    "VAE",
    "Experiment",
    "ExperimentConfig",
    "HandgradError",
    "MachineFault",
    "MultiTaskNet",
    "RunOptions",
    "__version__",
    "check_formulas",
    "check_module",
    "check_report",
    "models",
    "nn",
    "optim",
    "option",
    "register_experiment",
]


def __getattr__(name: str):
    # imported on first use: the doctor pulls in autograd, which plain training never needs
    if name == "check_formulas":
        from handgrad.checks.doctor import check_formulas

        return check_formulas
    if name == "check_report":
        from handgrad.checks.report import check_report

        return check_report
    raise AttributeError(f"module 'handgrad' has no attribute {name!r}")
