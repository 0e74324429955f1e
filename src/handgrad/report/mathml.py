"""LaTeX → MathML, converted when the report is written so that viewing it fetches nothing.

Browsers render MathML natively (Chromium since 109, Firefox, Safari), so the report
needs no JavaScript and no network. The conversion uses the pure-Python ``latex2mathml``
package.
"""

from __future__ import annotations

import re
from functools import cache

from handgrad.errors import HandgradError


@cache
def _converter():
    try:
        from latex2mathml.converter import convert
    except ImportError:
        raise HandgradError(
            "the report needs the latex2mathml package to render its formulas; "
            "install it with 'uv pip install latex2mathml' (or 'pip install latex2mathml')"
        ) from None
    return convert


def to_mathml(latex: str, *, display: bool = False) -> str:
    """The ``<math>`` element for ``latex`` (block-level when ``display``).

    Raises `HandgradError` naming the formula if latex2mathml cannot parse it.
    """
    convert = _converter()
    try:
        out = convert(latex, display="block" if display else "inline")
    except Exception as e:  # latex2mathml raises assorted exception types for bad input
        raise HandgradError(f"cannot render the formula {latex!r} ({e}); fix its LaTeX") from None
    unknown = _UNKNOWN_COMMAND.search(out)
    if unknown:
        raise HandgradError(
            f"cannot render {unknown.group(1)} in the formula {latex!r}: latex2mathml does not "
            "know it; write it with supported commands"
        )
    return out


# latex2mathml passes a command it does not know through as text, e.g. <mi>\foo</mi>
_UNKNOWN_COMMAND = re.compile(r">(\\[A-Za-z]+)<")
