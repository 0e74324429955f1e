"""Figures, drawn with matplotlib's Agg backend (no display needed).

`handgrad.plots.common` holds the shared style and the atomic PNG writer; each model
has its own module of figures (mlp, vae, multitask).
"""
