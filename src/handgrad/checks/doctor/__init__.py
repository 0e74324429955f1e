"""The gradient doctor: check, locate and name the mistake in hand-derived gradients."""

from handgrad.checks.doctor.check import check_file, check_formulas
from handgrad.checks.doctor.verdict import Report, Verdict

__all__ = ["Report", "Verdict", "check_file", "check_formulas"]
