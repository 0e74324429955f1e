"""Symbol keys: fonts dropped, labels and indices kept, written back as LaTeX."""

from __future__ import annotations

from handgrad.checks.report.latex import normalize
from handgrad.checks.report.symbols import key_of, pretty, show


def test_symbol_keys_ignore_fonts_and_keep_labels():
    assert key_of(r"\hat{\mathbf{y}}_{B,k}^i") == key_of(r"\hat y_B") == "hat y_B"
    assert key_of(r"\mathbf{x}_{\text{BN}^*}") == key_of("x_{BN*}")
    assert key_of(r"\sigma_B^2") == "sigma_B^2"
    assert show("theta_2B") == r"\theta_{2B}"
    assert normalize(r"\left[ a \right] &= b \quad") == "[ a ] = b"


def test_log_sigma_squared_is_one_symbol():
    assert key_of(r"\log\sigma^2") == key_of(r"\log \sigma^{2}") == "log sigma^2"
    assert pretty("log sigma^2") == "log σ²" and show("x_oplus") == r"x_{\oplus}"
