"""Building an experiment's optimiser and learning-rate schedule, one way for all.

    opt, schedule = build_optimizer(model.parameters(), optimizer="sgd", lr=0.1,
                                    schedule="step", step=20, gamma=0.1)

The names are the keys of `handgrad.optim.OPTIMIZERS` and the entries of `SCHEDULES`;
configs take their choices from these.
"""

from __future__ import annotations

from collections.abc import Sequence

from handgrad.errors import HandgradError
from handgrad.nn.module import Parameter
from handgrad.optim import OPTIMIZERS, SGD, ConstantLR, CosineLR, Optimizer, Schedule, StepLR

SCHEDULES = ("constant", "step", "cosine")


def build_optimizer(
    params: Sequence[Parameter],
    *,
    optimizer: str,
    lr: float,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    schedule: str = "constant",
    epochs: int | None = None,
    step: int = 20,
    gamma: float = 0.1,
) -> tuple[Optimizer, Schedule]:
    """The optimiser ``optimizer`` over ``params`` and its per-epoch ``schedule``.

    ``momentum`` is SGD's only (Adam has none); ``step`` and ``gamma`` are StepLR's
    (lr × gamma every ``step`` epochs); cosine anneals lr to 0 over ``epochs``.
    """
    if optimizer not in OPTIMIZERS:
        raise HandgradError(f"unknown optimizer {optimizer!r}; choose one of {sorted(OPTIMIZERS)}")
    if schedule not in SCHEDULES:
        raise HandgradError(f"unknown schedule {schedule!r}; choose one of {list(SCHEDULES)}")
    if optimizer == "sgd":
        opt: Optimizer = SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    else:
        opt = OPTIMIZERS[optimizer](params, lr=lr, weight_decay=weight_decay)
    if schedule == "step":
        return opt, StepLR(opt, step=step, gamma=gamma)
    if schedule == "cosine":
        if epochs is None:
            raise HandgradError("the cosine schedule needs the number of epochs")
        return opt, CosineLR(opt, total_epochs=epochs)
    return opt, ConstantLR(opt)
