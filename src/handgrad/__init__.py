"""handgrad: neural networks whose every gradient is derived by hand, in NumPy.

The library is importable without the CLI::

    import numpy as np
    from handgrad import nn, optim

    net = nn.Sequential(nn.Linear(784, 50, rng=np.random.default_rng(0)), nn.ReLU(),
                        nn.Linear(50, 10, rng=np.random.default_rng(1)))
    loss_fn = nn.SoftmaxCrossEntropy()
    loss = loss_fn.forward(net.forward(x), labels)
    net.zero_grad()
    net.backward(loss_fn.backward())
"""

from handgrad.errors import HandgradError, MachineFault

__version__ = "0.1.0"
__all__ = ["HandgradError", "MachineFault", "__version__"]
