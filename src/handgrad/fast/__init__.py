"""What exists only for speed: the same formulas as `handgrad.nn`, `handgrad.models` and
`handgrad.optim`, computed faster, each piece proven equal to the formula it replaces.

* `handgrad.fast.engine`: the engines (``numpy``, ``fused``) and the one interface of a
  training step every engine returns (`Step`: ``forward`` then ``update``, or
  ``train_chunk`` for many batches at once).
* `handgrad.fast.kernels`: compiled kernels, one module per formula, each declaring the
  readable formula it replaces (tests/fast/test_kernels.py proves every declaration).
* `handgrad.fast.steps`: the fused training step of each model the fused engine knows.
* `handgrad.fast.gather` (batches gathered ahead of use) and `handgrad.fast.threads`
  (the BLAS thread policy).
* `handgrad.fast.blas` (NumPy's OpenBLAS called from compiled loops), `handgrad.fast.pair`
  (two threads at once) and `handgrad.fast.sync` (their once-per-step barrier): what the
  compiled training loops of `handgrad.fast.kernels.mlp_sgd`, ``multitask_sgd`` and
  ``vae_adam`` use.
"""

from handgrad.fast.engine import CHOICES, ENGINES, Engine, get, resolve
from handgrad.fast.step import PlainStep, Scored, Step

__all__ = ["CHOICES", "ENGINES", "Engine", "PlainStep", "Scored", "Step", "get", "resolve"]
