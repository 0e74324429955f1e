"""Models composed from `handgrad.nn` layers, keeping the same contract as a layer."""

from handgrad.models.mlp import MLP
from handgrad.models.multitask import MultiTaskForward, MultiTaskNet
from handgrad.models.vae import VAE, VAEForward

__all__ = ["MLP", "VAE", "MultiTaskForward", "MultiTaskNet", "VAEForward"]
