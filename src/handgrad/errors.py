"""The one exception type handgrad raises for bad input.

`HandgradError` subclasses `ValueError`, so library users can catch either. Its
message is a single line that names the problem and, where there is one, the fix;
the CLI prints it as ``error: <message>`` and exits with code 2.
"""


class HandgradError(ValueError):
    """Bad input given to handgrad: a one-line message naming the problem and the fix."""
