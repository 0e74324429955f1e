"""Models composed from `handgrad.nn` layers."""
