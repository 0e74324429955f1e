"""The multi-task network of the reference derivation, with its backward written as derived.

Batch of m rows, x (m, n). Parameters are stored (out, in), as in the derivation::

    Task A:  z1A = x θ1Aᵀ + b1A;   x1A = sin(z1A);   xDP = x1A ⊙ M     (M: inverted-dropout mask)
             ŷA = x2A = xDP θ2Aᵀ + b2A
    Task B:  x1B = x θ1Bᵀ                                              (no bias)
             xBN = x1B − mean_batch(x1B) + b1B;   xBN* = ReLU(xBN)     (BN*)
             x⊕ = x2A + xBN*;   z2B = x⊕ θ2Bᵀ + b2B;   ŷB = softmax(z2B)
    Loss:    L = (1/m) Σ_i [ ½‖ŷA_i − yA_i‖² − Σ_k yB_ik log ŷB_ik ]  =  L_A + L_B

Dimensions: n inputs, h task-A hidden units, a task-A outputs (also the width of FC1B
and BN*), b classes. θ1A (h, n), b1A (h,), θ2A (a, h), b2A (a,), θ1B (a, n), b1B (a,),
θ2B (b, a), b2B (b,).

Modes. In training mode BN* subtracts the batch mean μ = (1/m) Σ_i x1B_i (coupling the
rows) and updates a running mean r ← (1 − momentum) r + momentum · μ; in eval mode it
subtracts that running mean instead (it is a `handgrad.nn.MeanCenter`), so a prediction
for one row does not depend on the other rows of its batch. Dropout (a
`handgrad.nn.Dropout`) is the identity in eval mode. `MultiTaskNet.loss` always runs the
training-mode forward (it is the training objective); `MultiTaskNet.predict` always runs
the eval-mode forward.

Every forward quantity is kept, under the derivation's name, in a `MultiTaskForward`;
the gradient-formula checker (`handgrad.checks.formulas`) hands the same quantities to
user formulas.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.batchnorm import MeanCenter
from handgrad.nn.dropout import Dropout
from handgrad.nn.init import uniform_fan_in
from handgrad.nn.losses import MSELoss, SoftmaxCrossEntropy, one_hot
from handgrad.nn.module import Module, Parameter
from handgrad.nn.softmax import log_softmax

PARAM_NAMES: tuple[str, ...] = (
    "theta1A",
    "b1A",
    "theta2A",
    "b2A",
    "theta1B",
    "b1B",
    "theta2B",
    "b2B",
)


@dataclass
class MultiTaskForward:
    """Every forward quantity of one batch, named as in the derivation (all (m, ·) arrays).

    x (m, n); z1A, x1A, M, xDP (m, h); x2A = ŷA, x1B, xBN, xBNs = ReLU(xBN), xplus = x⊕
    (m, a); mu (a,) the mean BN* subtracted; z2B, yhatB, log_yhatB (m, b). ``M`` is all
    ones when no dropout was applied. ŷB and log ŷB are computed from z2B when first read
    (training reads neither: its cross-entropy takes z2B).
    """

    x: np.ndarray
    z1A: np.ndarray
    x1A: np.ndarray
    M: np.ndarray
    xDP: np.ndarray
    x2A: np.ndarray
    x1B: np.ndarray
    mu: np.ndarray
    xBN: np.ndarray
    xBNs: np.ndarray
    xplus: np.ndarray
    z2B: np.ndarray

    @functools.cached_property
    def log_yhatB(self) -> np.ndarray:
        """log ŷB = log softmax(z2B) (m, b)."""
        return log_softmax(self.z2B)

    @functools.cached_property
    def yhatB(self) -> np.ndarray:
        """ŷB = softmax(z2B) (m, b), as e^{log ŷB}."""
        return np.exp(self.log_yhatB)

    @property
    def yhatA(self) -> np.ndarray:
        """ŷA, the task-A output (the same array as x2A)."""
        return self.x2A

    @property
    def m(self) -> int:
        return int(self.x.shape[0])

    def as_dict(self) -> dict[str, np.ndarray]:
        """The quantities as a dict, with ``yhatA`` added beside ``x2A``."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.update(yhatB=self.yhatB, log_yhatB=self.log_yhatB, yhatA=self.x2A)
        return d


@dataclass
class TaskLosses:
    """The two terms of L for one batch: L_A = (1/m) Σ ½‖ŷA − yA‖², L_B = mean cross-entropy."""

    loss_a: float
    loss_b: float

    @property
    def total(self) -> float:
        return self.loss_a + self.loss_b

    @property
    def loss(self) -> float:
        """L = L_A + L_B, the objective trained (as every model's output record names it)."""
        return self.total


class MultiTaskNet(Module):
    """Two tasks sharing x, with task A's output feeding task B (see the module docstring).

    ``MultiTaskNet(n_in, n_hidden, n_out_a, n_classes, p=0.5, seed=0, dtype=np.float64)``.
    Every weight and bias starts U(±1/√fan_in) (PyTorch's `Linear` default, b1B included,
    so that BN*'s output is not exactly 0 at m = 1); the dropout masks come from a
    Generator seeded with ``seed + 1``.

    The layer contract: ``forward(x)`` returns (ŷA (m, a), z2B (m, b)), task B's logits
    (ŷB = softmax(z2B) is in the saved `MultiTaskForward`, ``residuals``), and
    ``backward((dŷA, dz2B))`` returns ∂L/∂x. For training, ``loss(x, yA, yB)`` and
    ``loss_backward()`` add L = L_A + L_B (`MSELoss` on ŷA, `SoftmaxCrossEntropy` on z2B).
    Dropout and BN* are the `handgrad.nn` layers ``dropout`` and ``bnstar`` (whose
    bias is b1B).
    """

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_out_a: int,
        n_classes: int,
        p: float = 0.5,
        seed: int = 0,
        dtype: np.dtype | type = np.float64,
        *,
        momentum: float = 0.1,
    ):
        sizes = {"n_in": n_in, "n_hidden": n_hidden, "n_out_a": n_out_a, "n_classes": n_classes}
        bad = {k: v for k, v in sizes.items() if not (isinstance(v, (int, np.integer)) and v >= 1)}
        if bad:
            raise HandgradError(f"MultiTaskNet sizes must be integers ≥ 1, got {bad}")
        if n_classes < 2:
            raise HandgradError(f"MultiTaskNet needs n_classes ≥ 2, got {n_classes}")
        if not 0.0 <= p < 1.0:
            raise HandgradError(f"dropout p must be in [0, 1), got {p}")
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise HandgradError(f"MultiTaskNet needs a float dtype, got {dtype}")
        self.n_in, self.n_hidden, self.n_out_a, self.n_classes = n_in, n_hidden, n_out_a, n_classes
        self.p, self.dtype, self.momentum = float(p), dtype, float(momentum)
        init = np.random.default_rng(seed)

        def param(shape: tuple[int, ...], fan_in: int) -> Parameter:
            return Parameter(uniform_fan_in(init, shape, fan_in, dtype))

        self.theta1A = param((n_hidden, n_in), n_in)
        self.b1A = param((n_hidden,), n_in)
        self.theta2A = param((n_out_a, n_hidden), n_hidden)
        self.b2A = param((n_out_a,), n_hidden)
        self.theta1B = param((n_out_a, n_in), n_in)
        self.b1B = param((n_out_a,), n_in)
        self.theta2B = param((n_classes, n_out_a), n_out_a)
        self.b2B = param((n_classes,), n_out_a)
        # The masks' uniforms are float64 whatever the dtype, as they always were here.
        self.dropout = Dropout(p, rng=np.random.default_rng(seed + 1), uniforms=np.float64)
        self.bnstar = MeanCenter(n_out_a, self.momentum, dtype=dtype)
        self.bnstar.bias = self.b1B  # BN*'s bias is the derivation's b1B (listed once, as b1B)
        self.loss_a = MSELoss()
        self.loss_b = SoftmaxCrossEntropy()
        self.last_losses: TaskLosses | None = None

    # --- structure ---------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Parameter]:
        """The eight parameters by their names in the derivation (θ1A → "theta1A", …)."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    @property
    def running_mean(self) -> np.ndarray:
        """BN*'s running mean (a,), subtracted in eval mode."""
        return self.bnstar.running_mean

    def buffers(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean}

    def __repr__(self) -> str:
        return (
            f"MultiTaskNet(n={self.n_in}, h={self.n_hidden}, a={self.n_out_a}, "
            f"b={self.n_classes}, p={self.p})"
        )

    # --- forward ---------------------------------------------------------------------
    def forward(  # type: ignore[override]
        self, x: np.ndarray, mask: np.ndarray | None = None, *, training: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ŷA (m, a), z2B (m, b)) for x (m, n); every forward quantity is saved, named, in
        ``residuals`` (a `MultiTaskForward`).

        Runs in the module's mode unless ``training`` is given. ``mask`` (m, h), entries
        0 or 1/(1 − p), fixes the dropout mask of a training forward; without it a fresh
        mask is drawn (none when p = 0). Updates the BN* running mean in training mode.
        """
        if training is not None and training != self.training:
            with self.mode(training):
                return self.forward(x, mask)
        x = self._check_x(x)
        z1A = x @ self.theta1A.data.T + self.b1A.data
        x1A = np.sin(z1A)
        xDP = self.dropout.forward(x1A, mask)
        M = self.dropout.residuals.mask
        x2A = xDP @ self.theta2A.data.T + self.b2A.data
        x1B = x @ self.theta1B.data.T
        xBN = self.bnstar.forward(x1B)  # x1B − μ + b1B
        xBNs = np.maximum(xBN, 0)
        xplus = x2A + xBNs
        z2B = xplus @ self.theta2B.data.T + self.b2B.data
        self.residuals = MultiTaskForward(
            x,
            z1A,
            x1A,
            np.ones_like(x1A) if M is None else M,
            xDP,
            x2A,
            x1B,
            self.bnstar.residuals.mu,
            xBN,
            xBNs,
            xplus,
            z2B,
        )
        return x2A, z2B

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ŷA (m, a), ŷB (m, b)) in eval mode: no dropout, BN* uses the running mean."""
        self.forward(x, training=False)
        return self.residuals.yhatA, self.residuals.yhatB

    def task_losses(self, q: MultiTaskForward, yA: np.ndarray, yB: np.ndarray) -> TaskLosses:
        """L_A = (1/m) Σ_i ½‖ŷA_i − yA_i‖²  and  L_B = −(1/m) Σ_i Σ_k yB_ik log ŷB_ik."""
        yA, yB = self._check_targets(q.m, yA, yB)
        diff = q.yhatA - yA
        return TaskLosses(
            float(0.5 * (diff * diff).sum() / q.m), float(-(yB * q.log_yhatB).sum() / q.m)
        )

    def loss(
        self, x: np.ndarray, yA: np.ndarray, yB: np.ndarray, mask: np.ndarray | None = None
    ) -> float:
        """L = L_A + L_B for a batch, with the training-mode forward; saves what
        ``loss_backward`` needs.

        Shapes: x (m, n); yA (m, a); yB (m, b) one-hot (or (m,) integer labels);
        mask (m, h) optional fixed dropout mask, entries 0 or 1/(1 − p).
        """
        yhatA, z2B = self.forward(x, mask, training=True)
        yA, yB = self._check_targets(x.shape[0], yA, yB)
        losses = TaskLosses(self.loss_a.forward(yhatA, yA), self.loss_b.forward(z2B, yB))
        self.last_losses = losses
        return losses.total

    def objective(self, x: np.ndarray, yA: np.ndarray, labels: np.ndarray) -> TaskLosses:
        """The training objective of a batch, as a training step calls it: `loss` with
        task B's (m,) integer labels; returns both terms (``.loss`` = L)."""
        self.loss(x, yA, labels)
        return self.last_losses

    # --- backward, step by step as derived ------------------------------------------------
    def backward(  # type: ignore[override]
        self, dy: tuple[np.ndarray, np.ndarray], *, input_grad: bool = True
    ) -> np.ndarray | None:
        """Accumulate ∂L/∂θ into every ``Parameter.grad`` for dy = (∂L/∂ŷA, ∂L/∂z2B) of the
        last forward, where ∂L/∂ŷA is the direct term (task A's loss); return ∂L/∂x (m, n)
        if ``input_grad``.

        Each residual below is the one of the derivation (report 000, section 2.2), with
        the batch-mean coupling of BN* and both terms of ∂L/∂ŷA. Shapes: as the forward
        quantities they are gradients of (`MultiTaskForward`).
        """
        q = self.residuals
        if q is None:
            raise HandgradError(
                "MultiTaskNet.backward needs a forward first: call net.forward(x) or net.loss(...)"
            )
        dyhatA_direct, dz2B = dy
        th1A, th2A, th1B, th2B = (
            self.theta1A.data,
            self.theta2A.data,
            self.theta1B.data,
            self.theta2B.data,
        )

        # Task B
        self.theta2B.grad += dz2B.T @ q.xplus  # ∂L/∂θ2B = Σ_i ∂L/∂z2B_i x⊕_iᵀ
        self.b2B.grad += dz2B.sum(axis=0)  # ∂L/∂b2B = Σ_i ∂L/∂z2B_i
        dxplus = dz2B @ th2B  # ∂L/∂x⊕ = θ2Bᵀ ∂L/∂z2B                       (row-wise)
        dxBN = dxplus * (q.xBN > 0)  # ∂L/∂xBN = ∂L/∂x⊕ ⊙ 1[xBN > 0]   (ReLU: the step function)
        # BN*: ∂L/∂b1B = Σ_i ∂L/∂xBN_i;  ∂L/∂x1B_i = ∂L/∂xBN_i − (1/m) Σ_j ∂L/∂xBN_j  (train)
        dx1B = self.bnstar.backward(dxBN)
        self.theta1B.grad += dx1B.T @ q.x  # ∂L/∂θ1B = Σ_i ∂L/∂x1B_i x_iᵀ

        # Task A: x2A = ŷA feeds L_A and, through x⊕, L_B
        dyhatA = dyhatA_direct + dxplus  # ∂L/∂ŷA = (1/m)(ŷA − yA) + ∂L/∂x⊕
        self.theta2A.grad += dyhatA.T @ q.xDP  # ∂L/∂θ2A = Σ_i ∂L/∂ŷA_i xDP_iᵀ
        self.b2A.grad += dyhatA.sum(axis=0)  # ∂L/∂b2A = Σ_i ∂L/∂ŷA_i
        dxDP = dyhatA @ th2A  # ∂L/∂xDP = θ2Aᵀ ∂L/∂ŷA                       (row-wise)
        dz1A = self.dropout.backward(dxDP) * np.cos(q.z1A)  # ∂L/∂z1A = ∂L/∂xDP ⊙ M ⊙ cos(z1A)
        self.theta1A.grad += dz1A.T @ q.x  # ∂L/∂θ1A = Σ_i ∂L/∂z1A_i x_iᵀ
        self.b1A.grad += dz1A.sum(axis=0)  # ∂L/∂b1A = Σ_i ∂L/∂z1A_i

        if not input_grad:
            return None
        return dz1A @ th1A + dx1B @ th1B  # ∂L/∂x = θ1Aᵀ ∂L/∂z1A + θ1Bᵀ ∂L/∂x1B  (row-wise)

    def loss_backward(self, dloss: float = 1.0, *, input_grad: bool = True) -> np.ndarray | None:
        """``backward`` for L of the last `loss`: ∂L/∂ŷA = dL (ŷA − yA)/m (task A's term)
        and ∂L/∂z2B = dL (ŷB − yB)/m (softmax + cross-entropy, fused)."""
        if self.last_losses is None:
            raise HandgradError("MultiTaskNet.loss_backward needs a loss first: call net.loss(...)")
        dy = (self.loss_a.backward(dloss), self.loss_b.backward(dloss))
        return self.backward(dy, input_grad=input_grad)

    # --- input checks ------------------------------------------------------------------
    def _check_x(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != self.n_in:
            shape = getattr(x, "shape", type(x).__name__)
            raise HandgradError(f"{self!r} expects x of shape (m, {self.n_in}), got {shape}")
        if x.shape[0] < 1:
            raise HandgradError(f"{self!r} got an empty batch; pass at least one row")
        if x.dtype != self.dtype:
            raise HandgradError(
                f"{self!r} got {x.dtype} input; cast it with x.astype(np.{self.dtype}) "
                "or build the net with a matching dtype"
            )
        return x

    def _check_targets(
        self, m: int, yA: np.ndarray, yB: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        yA = np.asarray(yA)
        if yA.shape != (m, self.n_out_a):
            raise HandgradError(f"yA must have shape ({m}, {self.n_out_a}), got {yA.shape}")
        yB = np.asarray(yB)
        if yB.ndim == 1 and yB.dtype.kind in "iu":
            yB = one_hot(yB, self.n_classes, self.dtype) if yB.shape == (m,) else yB
        if yB.shape != (m, self.n_classes):
            raise HandgradError(
                f"yB must be one-hot of shape ({m}, {self.n_classes}) or ({m},) integer "
                f"labels, got {yB.shape}"
            )
        return yA.astype(self.dtype, copy=False), yB.astype(self.dtype, copy=False)
