"""Training runs for each model: the loop, its metrics and figures, written to a run directory."""
