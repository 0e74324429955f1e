"""Layers with hand-derived backward passes; see `handgrad.nn.module` for the contract."""

from handgrad.nn.activations import ACTIVATIONS, ReLU, Sigmoid, Sin, Tanh
from handgrad.nn.batchnorm import BatchNorm1d, MeanCenter
from handgrad.nn.dropout import Dropout
from handgrad.nn.init import as_rng
from handgrad.nn.linear import Linear
from handgrad.nn.losses import Loss, MSELoss, SoftmaxCrossEntropy, one_hot
from handgrad.nn.module import Module, Parameter, Sequential
from handgrad.nn.softmax import LogSoftmax, Softmax, log_softmax, softmax
from handgrad.nn.vae_losses import BernoulliNLL, GaussianKL, GaussianNLL, Reparameterize, SoftClamp

__all__ = [
    "ACTIVATIONS",
    "BatchNorm1d",
    "BernoulliNLL",
    "Dropout",
    "GaussianKL",
    "GaussianNLL",
    "Linear",
    "LogSoftmax",
    "Loss",
    "MSELoss",
    "MeanCenter",
    "Module",
    "Parameter",
    "ReLU",
    "Reparameterize",
    "Sequential",
    "Sigmoid",
    "Sin",
    "SoftClamp",
    "Softmax",
    "SoftmaxCrossEntropy",
    "Tanh",
    "as_rng",
    "log_softmax",
    "one_hot",
    "softmax",
]
