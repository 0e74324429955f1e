"""Gradient checks of the layers, the multi-task network, and user formulas."""
