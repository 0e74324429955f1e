"""The PyTorch side of `vs_frameworks.py`: the same three training runs, written the usual way.

Each ``run_*`` function takes the case's data (NumPy arrays, converted once with
``torch.from_numpy``), the handgrad model whose initial weights it copies (so both
frameworks start from the same point and can be compared on final loss/accuracy), and
the list of per-epoch batch orders (the same index arrays handgrad uses). It returns
the per-epoch seconds and the final metrics, in the format of `vs_frameworks.worker`.

Idiomatic, not tuned: ``nn.Module`` models, ``torch.optim`` optimisers, the standard
loss functions, and per-step ``loss.item()`` / accuracy bookkeeping exactly as the
handgrad loops do, so both sides do equal work. Imported only inside a PyTorch worker.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def _copy_linear(dst: nn.Linear, weight: np.ndarray, bias: np.ndarray | None) -> None:
    """Copy a handgrad weight θ (out, in) and bias b (out,) into ``dst`` (same layout)."""
    with torch.no_grad():
        dst.weight.copy_(torch.from_numpy(weight))
        if bias is not None:
            dst.bias.copy_(torch.from_numpy(bias))


def _batches(order: np.ndarray, batch_size: int) -> Iterable[torch.Tensor]:
    return torch.from_numpy(order).split(batch_size)


# --- MLP ---------------------------------------------------------------------------------
def _train_loss_epochs(orders, batch_size: int, opt, loss_of) -> dict:
    """Timed epochs of ``loss_of(idx)`` + backward + ``opt.step()`` over each order;
    metrics: the last epoch's mean training loss."""
    seconds, stats = [], {}
    for order in orders:
        start = time.perf_counter()
        total = 0.0
        for idx in _batches(order, batch_size):
            loss = loss_of(idx)
            total += loss.item() * idx.shape[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
        stats = {"train_loss": total / order.shape[0]}
    return {"seconds": seconds, **stats}


def run_mlp(data, hg_model, orders, batch_size: int, lr: float) -> dict:
    """784-50-10 ReLU MLP, SGD, CrossEntropyLoss; metrics: last epoch's loss, test accuracy."""
    x, y = torch.from_numpy(data.train.x), torch.from_numpy(data.train.y)
    lin1, lin2 = hg_model.layers[0], hg_model.layers[-1]
    model = nn.Sequential(
        nn.Linear(lin1.in_features, lin1.out_features),
        nn.ReLU(),
        nn.Linear(lin2.in_features, lin2.out_features),
    )
    _copy_linear(model[0], lin1.weight.data, lin1.bias.data)
    _copy_linear(model[2], lin2.weight.data, lin2.bias.data)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    seconds, stats = [], {}
    model.train()
    for order in orders:
        start = time.perf_counter()
        total, correct = 0.0, 0
        for idx in _batches(order, batch_size):
            xb, yb = x[idx], y[idx]
            logits = model(xb)
            loss = loss_fn(logits, yb)
            value = loss.item()
            if not np.isfinite(value):
                raise RuntimeError(f"PyTorch MLP loss became {value}")
            total += value * idx.shape[0]
            correct += int((logits.argmax(dim=1) == yb).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
        stats = {"train_loss": total / order.shape[0], "train_acc": correct / order.shape[0]}
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(data.test.x)).argmax(dim=1).numpy()
    return {"seconds": seconds, **stats, "test_acc": float((pred == data.test.y).mean())}


# --- VAE ---------------------------------------------------------------------------------
class TorchVAE(nn.Module):
    """784-400-20-400-784 VAE with a Bernoulli decoder (the PyTorch example's network;
    encoder output [μ | logσ²] from one Linear(400, 40), like handgrad's)."""

    def __init__(self, x_dim: int, hidden: int, latent: int):
        super().__init__()
        self.latent = latent
        self.enc1, self.enc2 = nn.Linear(x_dim, hidden), nn.Linear(hidden, 2 * latent)
        self.dec1, self.dec2 = nn.Linear(latent, hidden), nn.Linear(hidden, x_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """L = mean_i [BCE(x_i, decoder logits) summed over pixels + KL_i], nats per image."""
        stats = self.enc2(F.relu(self.enc1(x)))
        mu, logvar = stats[:, : self.latent], stats[:, self.latent :]
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.dec2(F.relu(self.dec1(z)))
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = 0.5 * (mu * mu + logvar.exp() - 1 - logvar).sum()
        return (rec + kl) / x.shape[0]


def run_vae(data, hg_vae, orders, batch_size: int, lr: float) -> dict:
    """Adam on the VAE; metrics: last epoch's mean loss (−ELBO, nats per image)."""
    x = torch.from_numpy(data.train.x)
    (e1, _, e2), (d1, _, d2) = hg_vae.encoder.layers, hg_vae.decoder.layers
    model = TorchVAE(e1.in_features, e1.out_features, hg_vae.latent)
    for dst, src in [
        (model.enc1, e1),
        (model.enc2, e2),
        (model.dec1, d1),
        (model.dec2, d2),
    ]:
        _copy_linear(dst, src.weight.data, src.bias.data)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    return _train_loss_epochs(orders, batch_size, opt, lambda idx: model(x[idx]))


# --- multi-task network ------------------------------------------------------------------
class TorchMultiTask(nn.Module):
    """The multi-task network of the derivation (see handgrad.models.multitask)."""

    def __init__(self, n_in: int, n_hidden: int, n_out_a: int, n_classes: int, p: float):
        super().__init__()
        self.fc1A = nn.Linear(n_in, n_hidden)
        self.fc2A = nn.Linear(n_hidden, n_out_a)
        self.fc1B = nn.Linear(n_in, n_out_a, bias=False)
        self.b1B = nn.Parameter(torch.zeros(n_out_a))
        self.fc2B = nn.Linear(n_out_a, n_classes)
        self.dropout = nn.Dropout(p)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ŷA, z2B): x2A = dropout(sin(x θ1Aᵀ + b1A)) θ2Aᵀ + b2A;
        z2B = (x2A + ReLU(x1B − mean_batch(x1B) + b1B)) θ2Bᵀ + b2B."""
        x2A = self.fc2A(self.dropout(torch.sin(self.fc1A(x))))
        x1B = self.fc1B(x)
        xBNs = F.relu(x1B - x1B.mean(dim=0) + self.b1B)
        return x2A, self.fc2B(x2A + xBNs)


def run_multitask(data, hg_net, orders, batch_size: int, lr: float) -> dict:
    """SGD on L = mean ½‖ŷA − yA‖² + CE(z2B, yB); metrics: last epoch's loss, test accuracy B."""
    x, yA = torch.from_numpy(data.x_train), torch.from_numpy(data.yA_train)
    yB = torch.from_numpy(data.labels_train)
    P = {name: p.data for name, p in hg_net.params.items()}
    model = TorchMultiTask(hg_net.n_in, hg_net.n_hidden, hg_net.n_out_a, hg_net.n_classes, hg_net.p)
    _copy_linear(model.fc1A, P["theta1A"], P["b1A"])
    _copy_linear(model.fc2A, P["theta2A"], P["b2A"])
    _copy_linear(model.fc1B, P["theta1B"], None)
    _copy_linear(model.fc2B, P["theta2B"], P["b2B"])
    with torch.no_grad():
        model.b1B.copy_(torch.from_numpy(P["b1B"]))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        yhatA, z2B = model(x[idx])
        return 0.5 * ((yhatA - yA[idx]) ** 2).sum(dim=1).mean() + F.cross_entropy(z2B, yB[idx])

    return _train_loss_epochs(orders, batch_size, opt, loss_of)
