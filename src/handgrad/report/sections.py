"""What the report says, part by part, built only from the files of the runs.

`build_document(out)` reads ``out/reproduce.json`` (which parts ran, their status) and,
for each part, the summary.json / metrics.jsonl / config.json of its directory, and lays
them out like the original report: Part One (1.1 MLP, 1.2 VAE), Part Two (2.1 basic
layers, 2.2 multi-task network). Every number shown is read from the run that produced
it, next to its reference; every run links its configuration; every PNG of every run is
shown.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from handgrad.report.document import (
    Badge,
    Code,
    Content,
    Document,
    Equation,
    Figure,
    Heading,
    Inline,
    Link,
    Math,
    Paragraph,
    Table,
)
from handgrad.reproduce.results import FAILED, PASSED, SKIPPED, PartResult, ReproduceResult
from handgrad.training.runs import read_json, read_metrics

TITLE = "handgrad: Homework 1, reproduced"
# The parts with a section of their own; any other part (another experiment's) is shown
# under "Other experiments".
SECTION_PARTS = ("mlp", "vae-", "checks-", "multitask")

# Figures in the order they are shown, and what they show; other PNGs follow by name.
CAPTIONS = {
    "loss_curve.png": "training loss and test accuracy per epoch",
    "confusion_matrix.png": "confusion matrix on the test set",
    "misclassified.png": "misclassified test images",
    "samples.png": "samples drawn with and without decoder noise, against the data",
    "reconstructions.png": "test images and their reconstructions",
    "latent.png": "latent means of the test points",
    "loss_curves.png": "−ELBO per epoch, train and test",
    "curves.png": "task-A MSE, task-B cross-entropy and accuracy per epoch",
}

# Part Two, 2.1: the basic layers' gradients (report 000, with sgn read as a step).
LAYER_FORMULAS: tuple[tuple[str, str, str], ...] = (
    (
        "Batch norm",
        "BatchNorm1d (train)",
        r"\frac{\partial y_i}{\partial \gamma} = \hat x_i = "
        r"\frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}},\qquad "
        r"\frac{\partial y_i}{\partial \beta} = 1",
    ),
    (
        "Dropout",
        "Dropout (train)",
        r"y_j = x_j M_j,\quad M_j = \frac{1}{1-p}\,\mathbb{1}[r_j \ge p],\qquad "
        r"\frac{\partial y_j}{\partial x_j} = M_j",
    ),
    (
        "Softmax",
        "Softmax",
        r"\frac{\partial y_i}{\partial x_k} = y_i\,(\delta_{ik} - y_k):\quad "
        r"(1 - y_i)\,y_i \text{ if } i = k,\quad -y_i y_k \text{ if } i \ne k",
    ),
)

# Part Two, 2.2: the network's forward pass, in the derivation's notation.
FORWARD_FORMULAS: tuple[str, ...] = (
    r"z_{1A} = x\,\theta_{1A}^\top + b_{1A},\quad x_{1A} = \sin z_{1A},\quad "
    r"x_{DP} = x_{1A} \odot M,\quad \hat y_A = x_{2A} = x_{DP}\,\theta_{2A}^\top + b_{2A}",
    r"x_{1B} = x\,\theta_{1B}^\top,\quad "
    r"x_{BN} = x_{1B} - \frac{1}{m}\sum_{j=1}^m x_{1B}^j + b_{1B},\quad "
    r"x_{BN^*} = \max(x_{BN}, 0)",
    r"x_\oplus = x_{2A} + x_{BN^*},\quad z_{2B} = x_\oplus\,\theta_{2B}^\top + b_{2B},\quad "
    r"\hat y_B = \mathrm{softmax}(z_{2B})",
    r"L = \frac{1}{m}\sum_{i=1}^m \Big[\frac{1}{2}\lVert \hat y_A^i - y_A^i \rVert^2 - "
    r"\sum_{k=1}^b y_{B,k}^i \log \hat y_{B,k}^i\Big]",
)


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def seconds(s: float) -> str:
    """A duration for people: 8.2 s, 3 min 05 s, 1 h 02 min."""
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


class _Builder:
    """Lays out the report of one output folder into a `Document`."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.result = ReproduceResult.load(self.out)
        self.parts = {p.key: p for p in self.result.parts}
        self.doc = Document(TITLE, self.out)
        self.figure_numbers: dict[str, int] = {}

    # --- reading the runs ---------------------------------------------------------------
    def part(self, key: str) -> PartResult | None:
        return self.parts.get(key)

    def directory(self, part: PartResult) -> Path | None:
        return None if part.directory is None else self.out / part.directory

    def summary(self, part: PartResult) -> dict[str, Any] | None:
        d = self.directory(part)
        if d is None or not (d / "summary.json").is_file():
            return None
        return read_json(d / "summary.json")

    def likelihood_rows(self, part: PartResult) -> list[list[str]]:
        """The IWAE estimate of −log p(x) beside the −ELBO of the same test images, from
        the run's evaluation.json (none if it was not evaluated)."""
        d = self.directory(part)
        if d is None or not (d / "evaluation.json").is_file():
            return []
        e = read_json(d / "evaluation.json")
        if "iwae_k" not in e:
            return []
        se = e["test_log_likelihood_se"]
        images = f"first {e['n_test']} test images"
        return [
            [f"Test −ELBO ({images})", f"{e['test_neg_elbo']:.2f}", "—"],
            [
                f"Test −log p(x), IWAE k = {e['iwae_k']} ({images})",
                f"{e['test_neg_log_likelihood']:.2f}" + (f" ± {se:.2f}" if se else ""),
                "—",
            ],
        ]

    def config(self, part: PartResult) -> dict[str, Any]:
        d = self.directory(part)
        return read_json(d / "config.json") if d and (d / "config.json").is_file() else {}

    # --- shared pieces ------------------------------------------------------------------
    def run_line(self, part: PartResult) -> None:
        """Status, verdict, criterion, links to the run's files and its duration."""
        line: list[Inline] = [Badge(part.status), " ", part.message]
        d = self.directory(part)
        if d is not None:
            links = [
                Link(name, f"{part.directory}/{name}")
                for name in ("config.json", "summary.json", "metrics.jsonl", "error.txt")
                if (d / name).is_file()
            ]
            line += [" · "]
            for i, link in enumerate(links):
                line += [link] if i == 0 else [", ", link]
            line += [f" · {seconds(part.seconds)}"]
        self.doc.add(Paragraph(line))
        if part.status != SKIPPED:
            self.doc.add(Paragraph(f"Pass criterion: {part.criterion}.", note=True))
        extra = part.data
        if extra.get("n_train"):
            self.doc.add(
                Paragraph(
                    f"Quick run: trained on {extra['n_train']} examples, tested on "
                    f"{extra['n_test']}.",
                    note=True,
                )
            )

    def figures(self, part: PartResult, label: str = "") -> None:
        """Every PNG of the part's directory, known ones first, numbered by Part."""
        d = self.directory(part)
        if d is None:
            return
        order = list(CAPTIONS)
        pngs = sorted(
            d.glob("*.png"),
            key=lambda p: (order.index(p.name) if p.name in order else len(order), p.name),
        )
        chapter = part.section.split(".")[0]
        for png in pngs:
            n = self.figure_numbers[chapter] = self.figure_numbers.get(chapter, 0) + 1
            what = CAPTIONS.get(png.name, png.stem.replace("_", " "))
            where = f" ({label})" if label else ""
            self.doc.add(Figure(png, f"Figure {chapter}.{n}. {what[0].upper()}{what[1:]}{where}"))

    def missing(self, title: str) -> None:
        self.doc.add(Paragraph([Badge(SKIPPED), f" {title} was not part of this run."]))

    def grad_reports(self, part: PartResult) -> list[dict[str, Any]]:
        summary = self.summary(part)
        return [] if summary is None else summary["reports"]

    # --- the report ---------------------------------------------------------------------
    def build(self) -> Document:
        self.header()
        self.doc.add(Heading(2, "1. Part One: Code Implementation", "part-one"))
        self.mlp()
        self.vae()
        self.doc.add(Heading(2, "2. Part Two: Back-propagation", "part-two"))
        self.layers()
        self.multitask()
        self.others()
        self.footer()
        return self.doc

    def header(self) -> None:
        r = self.result
        counts = {s: sum(p.status == s for p in r.parts) for s in (PASSED, FAILED, SKIPPED)}
        overall = FAILED if counts[FAILED] else PASSED
        if r.mode == "quick":
            mode: Content = [
                "A ",
                "quick",
                " run: every part reduced (subsets, a few epochs) for a first look. Run ",
                Code("handgrad reproduce"),
                " without ",
                Code("--quick"),
                " for the real numbers.",
            ]
        else:
            mode = "The full run: every part with the settings of the assignment."
        self.doc.add(
            Paragraph(mode),
            Paragraph(
                [
                    Badge(overall),
                    f" {counts[PASSED]} passed, {counts[FAILED]} failed, "
                    f"{counts[SKIPPED]} skipped · started {r.started} · took "
                    f"{seconds(r.seconds)} · handgrad {r.version}",
                ]
            ),
            Table(
                ["Part", "Status", "Result", "Time"],
                [
                    [f"{p.section} {p.title}", Badge(p.status), p.message, seconds(p.seconds)]
                    for p in sorted(r.parts, key=lambda p: p.section)
                ],
                numeric=(3,),
            ),
        )

    def footer(self) -> None:
        self.doc.add(
            Paragraph(
                [
                    "Every number above is read from the summary.json or metrics.jsonl of "
                    "the run that produced it; each run's config.json holds its settings. "
                    "Regenerate with ",
                    Code("handgrad reproduce"),
                    ".",
                ],
                note=True,
            )
        )

    # --- 1.1 ----------------------------------------------------------------------------
    def mlp(self) -> None:
        self.doc.add(Heading(3, "1.1 Multilayer Perceptron (MLP)", "mlp"))
        part = self.part("mlp")
        if part is None:
            return self.missing("The MLP run")
        self.run_line(part)
        summary = self.summary(part)
        if summary is None:
            return None
        c = self.config(part)
        rows = read_metrics(self.directory(part))
        ref = summary.get("reference_test_acc")
        reference = part.data.get("reference", {})
        n_train = summary.get("n_train")
        self.doc.add(
            Table(
                ["Quantity", "This run", "Reference (report 000)"],
                [
                    ["Test accuracy", pct(summary["test_acc"]), pct(ref) if ref else "—"],
                    [
                        "Final training loss",
                        f"{rows[-1]['train_loss']:.4f}",
                        "—",
                    ],
                    ["Settings", _mlp_settings(c), _mlp_settings(reference)],
                    [
                        "Training examples",
                        "—"
                        if n_train is None
                        else f"{n_train}" + ("" if c.get("train_subset") else " (all)"),
                        "all",
                    ],
                    ["Training time", seconds(summary["train_seconds"]), "—"],
                ],
            )
        )
        self.figures(part)
        return None

    # --- 1.2 ----------------------------------------------------------------------------
    def vae(self) -> None:
        self.doc.add(Heading(3, "1.2 Variational Autoencoder (VAE)", "vae"))
        toys = [p for p in self.result.parts if p.key.startswith("vae-") and p.key != "vae-mnist"]
        self.doc.add(
            Paragraph(
                [
                    "On 2-D data the true density is known, so the test −ELBO (an upper "
                    "bound on the model's negative log-likelihood) is judged against the "
                    "entropy ",
                    Math(r"H[p] = -\mathbb{E}_p[\log p(x)]"),
                    ", the lowest expected negative log-likelihood any model can reach. "
                    "Covariance error: ",
                    Math(r"\lVert \hat C - \Sigma \rVert_F / \lVert \Sigma \rVert_F"),
                    " for samples drawn with decoder noise (and for the decoder means alone).",
                ]
            )
        )
        rows = []
        for part in toys:
            s = self.summary(part)
            if s is None:
                rows.append([part.title.split(": ")[-1], *["—"] * 7, Badge(part.status)])
                continue
            rows.append(
                [
                    s["dataset"],
                    f"{s['test_neg_elbo']:.3f}",
                    f"{s['entropy']:.3f}" + ("" if s.get("entropy_exact", True) else " (MC)"),
                    f"{s['gap_to_entropy']:+.3f}",
                    f"{s['test_true_nll']:.3f}",
                    pct(s["cov_rel_error"]),
                    pct(s["cov_rel_error_means"]),
                    f"{s['active_units']}/{s['latent']}",
                    Badge(part.status),
                ]
            )
        if rows:
            self.doc.add(
                Table(
                    [
                        "Data",
                        "Test −ELBO",
                        "Entropy H[p]",
                        "Gap",
                        "True NLL",
                        "Cov. error",
                        "Cov. error (means)",
                        "Active units",
                        "Status",
                    ],
                    rows,
                    numeric=(1, 2, 3, 4, 5, 6, 7),
                ),
                Paragraph(
                    "Nats per point. True NLL: the true density's own negative "
                    "log-likelihood on the same test points (the noise floor of the "
                    "comparison).",
                    note=True,
                ),
            )
        for part in toys:
            dataset = part.title.split(": ")[-1]
            self.doc.add(Heading(4, f"2-D data: {dataset}", part.key))
            self.run_line(part)
            self.figures(part, dataset)
        self.vae_mnist()

    def vae_mnist(self) -> None:
        self.doc.add(Heading(4, "MNIST", "vae-mnist"))
        part = self.part("vae-mnist")
        if part is None:
            return self.missing("The MNIST VAE")
        self.run_line(part)
        s = self.summary(part)
        if s is None:
            return None
        ref = s.get("reference_neg_elbo_pytorch")
        ref_epochs = s.get("reference_epochs_pytorch")
        self.doc.add(
            Table(
                ["Quantity (nats per image)", "This run", "Reference"],
                [
                    [
                        "Test −ELBO",
                        f"{s['test_neg_elbo']:.2f}",
                        f"{ref:.2f} (PyTorch examples/vae, {ref_epochs} epochs)" if ref else "—",
                    ],
                    ["Reconstruction NLL", f"{s['test_rec']:.2f}", "—"],
                    ["KL(q(z|x) ‖ p(z))", f"{s['test_kl']:.2f}", "—"],
                    ["Active latent units", f"{s['active_units']}/{s['latent']}", "—"],
                    *self.likelihood_rows(part),
                    ["Epochs", str(s["epochs"]), str(ref_epochs) if ref_epochs else "—"],
                    ["Seconds per epoch", f"{s['seconds_per_epoch']:.1f}", "—"],
                ],
                numeric=(1,),
            )
        )
        self.figures(part, "MNIST")
        return None

    # --- 2.1 ----------------------------------------------------------------------------
    def layers(self) -> None:
        self.doc.add(Heading(3, "2.1 Gradients of the basic layers", "layers"))
        part = self.part("checks-layers")
        if part is None:
            return self.missing("The layer check")
        reports = self.grad_reports(part)
        rtol = (self.summary(part) or {}).get("rtol", 0.0)
        cases = _by_case(reports)
        self.doc.add(
            Paragraph(
                "Each layer's hand-written backward is compared with central finite "
                "differences in float64, for the input and every parameter, at batch sizes "
                f"{_words(self.config(part).get('batch_sizes', []))}. The derived gradients:"
            )
        )
        for name, case, latex in LAYER_FORMULAS:
            worst, ok = _case_status(cases.get(case, []))
            note = (
                f"{name}: checked as “{case}”, worst relative error {worst:.1e} "
                f"(tolerance {rtol:g})"
                if case in cases
                else f"{name}: not checked in this run"
            )
            badge = Badge(PASSED if ok else FAILED) if case in cases else None
            self.doc.add(Equation(latex, badge, note))
        self.run_line(part)
        rows = []
        for case, group in cases.items():
            worst, ok = _case_status(group)
            n = sum(len(r["checks"]) for r in group)
            tensors = ", ".join(dict.fromkeys(c["name"] for r in group for c in r["checks"]))
            ms = ",".join(r["subject"].rsplit("m=", 1)[-1] for r in group)
            rows.append(
                [case, tensors, ms, str(n), f"{worst:.1e}", Badge(PASSED if ok else FAILED)]
            )
        self.doc.add(
            Table(
                ["Layer / loss", "Gradients of", "m", "Checks", "Worst rel. error", "Status"],
                rows,
                numeric=(3, 4),
            ),
            Paragraph(
                f"Reference: agreement with finite differences to a relative error of "
                f"{rtol:g} (ε = 1e-5, central differences in float64).",
                note=True,
            ),
        )
        return None

    # --- 2.2 ----------------------------------------------------------------------------
    def multitask(self) -> None:
        self.doc.add(
            Heading(3, "2.2 Feed-forward and back-propagation of the multi-task network", "mt")
        )
        self.doc.add(
            Paragraph(
                "A batch of m rows x; task A regresses ŷA, task B classifies ŷB, and x2A "
                "feeds both the task-A loss and task B. Forward pass and loss:"
            )
        )
        for latex in FORWARD_FORMULAS:
            self.doc.add(Equation(latex))
        self.formulas()
        self.network()
        self.multitask_training()

    def formulas(self) -> None:
        self.doc.add(Heading(4, "The derived gradients, each checked", "formulas"))
        part = self.part("checks-formulas")
        if part is None:
            return self.missing("The formula check")
        s = self.summary(part) or {}
        c = self.config(part)
        self.doc.add(
            Paragraph(
                "Each closed-form formula (report 000, section 2.2, with sgn read as the "
                "step 1[x > 0]) is evaluated on random float64 batches of m = "
                f"{', '.join(map(str, c.get('batch_sizes', [])))} rows with a dropout mask "
                f"(p = {c.get('dropout_p')}) and compared with central finite differences "
                "of L and with the network's backward."
            )
        )
        self.run_line(part)
        rtol = s.get("rtol", 0.0)
        for r in s.values():
            if not isinstance(r, dict) or "latex" not in r:
                continue
            latex = r["latex"]
            note = (
                f"vs finite differences: worst rel. error {r['fd_max_rel_err']:.1e}; vs the "
                f"backward: {r['backward_max_rel_err']:.1e} (tolerance {rtol:g})"
            )
            self.doc.add(Equation(latex, Badge(PASSED if r["passed"] else FAILED), note))
        return None

    def network(self) -> None:
        self.doc.add(Heading(4, "The backward pass vs finite differences", "network"))
        part = self.part("checks-network")
        if part is None:
            return self.missing("The network check")
        self.run_line(part)
        rows = []
        reports = self.grad_reports(part)
        for r in reports:
            worst = max(c["max_rel_err"] for c in r["checks"])
            rows.append(
                [
                    r["subject"],
                    str(len(r["checks"])),
                    f"{worst:.1e}",
                    Badge(PASSED if r["passed"] else FAILED),
                ]
            )
        self.doc.add(
            Table(
                ["Case (sizes, dropout)", "Gradients", "Worst rel. error", "Status"],
                rows,
                numeric=(1, 2),
            ),
            Paragraph(
                "Gradients checked per case: "
                f"{', '.join(dict.fromkeys(c['name'] for r in reports for c in r['checks']))}. "
                "At m = 1 BN* subtracts the row itself, so ∂L/∂θ1B is exactly 0 (and "
                "checked to be).",
                note=True,
            ),
        )
        return None

    def others(self) -> None:
        """Every part without a section of its own: its verdict, settings and figures."""
        others = [p for p in self.result.parts if not p.key.startswith(SECTION_PARTS)]
        if not others:
            return
        self.doc.add(Heading(2, "3. Other experiments", "others"))
        for part in others:
            self.doc.add(Heading(3, f"{part.section} {part.title}", part.key))
            self.run_line(part)
            self.figures(part)

    def multitask_training(self) -> None:
        self.doc.add(Heading(4, "Training demo", "multitask"))
        part = self.part("multitask")
        if part is None:
            return self.missing("The multi-task training demo")
        self.run_line(part)
        s = self.summary(part)
        if s is None:
            return None
        c = self.config(part)
        classes = c.get("n_classes")
        noise = c.get("noise")
        self.doc.add(
            Table(
                ["Quantity", "Train", "Test", "Reference"],
                [
                    [
                        "Task A: mean squared error",
                        f"{s['train_mse_a']:.4f}",
                        f"{s['test_mse_a']:.4f}",
                        f"noise floor σ² = {noise**2:.4f}" if noise is not None else "—",
                    ],
                    [
                        "Task B: cross-entropy",
                        f"{s['train_ce_b']:.4f}",
                        f"{s['test_ce_b']:.4f}",
                        "—",
                    ],
                    [
                        "Task B: accuracy",
                        pct(s["train_acc_b"]),
                        pct(s["test_acc_b"]),
                        f"chance {pct(1 / classes)}" if classes else "—",
                    ],
                ],
                numeric=(1, 2),
            ),
            Paragraph(
                f"{s['epochs']} epochs with {c.get('optimizer')} (lr {c.get('lr')}), batch "
                f"{c.get('batch_size')}, dropout p = {c.get('p')}, on {c.get('n_samples')} "
                "synthetic examples.",
                note=True,
            ),
        )
        self.figures(part)
        return None


def _mlp_settings(c: dict[str, Any]) -> str:
    """An MLP run's settings in the words of report 000, from its config."""
    if not c:
        return "—"
    return (
        f"hidden {c.get('hidden')}, lr {c.get('lr')} ×{c.get('gamma')} every {c.get('step')} "
        f"epochs, batch {c.get('batch_size')}, {c.get('epochs')} epochs"
    )


def _words(items: list[Any]) -> str:
    """[1, 3, 6] → "1, 3 and 6"."""
    text = [str(i) for i in items]
    return " and ".join([", ".join(text[:-1]), text[-1]]) if len(text) > 1 else "".join(text)


def _by_case(reports: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group per-(case, m) reports by case name ("Softmax m=3" → "Softmax")."""
    cases: dict[str, list[dict[str, Any]]] = {}
    for r in reports:
        case = re.sub(r"\s+m=\d+$", "", r["subject"])
        cases.setdefault(case, []).append(r)
    return cases


def _case_status(group: list[dict[str, Any]]) -> tuple[float, bool]:
    """(worst relative error, all passed) over the reports of one case."""
    if not group:
        return float("nan"), False
    worst = max(c["max_rel_err"] for r in group for c in r["checks"])
    return worst, all(r["passed"] for r in group)


def build_document(out: str | Path) -> Document:
    """The report of the reproduction in ``out`` (see the module docstring)."""
    return _Builder(Path(out)).build()
