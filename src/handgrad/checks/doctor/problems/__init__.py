"""The problems the doctor knows, by name (``handgrad check formulas --list``)."""

from __future__ import annotations

from handgrad.checks.doctor.graph import Problem
from handgrad.checks.doctor.problems import blockone, mlp, multitask, vae

PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        blockone.BATCHNORM,
        blockone.DROPOUT,
        blockone.SOFTMAX,
        blockone.SOFTMAX_CE,
        mlp.PROBLEM,
        vae.VAE_GAUSS,
        vae.VAE_BERNOULLI,
        multitask.PROBLEM,
    )
}
