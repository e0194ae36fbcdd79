"""ResNet Lab's helpers: the code the notebooks build once and then reuse.

One module per concern: ``data`` (Fashion-MNIST), ``runtime`` (seeding, device), ``models``,
``gradients`` (per-layer gradient norms), ``tracing`` (shapes), ``training``, ``plotting``,
``widgets``.
"""
from . import analysis, data, gradients, models, plotting, runtime, tracing, training
from .runtime import pick_device, seed_everything

__version__ = "0.1.0"
__all__ = ["analysis", "data", "gradients", "models", "plotting", "runtime", "tracing", "training", "pick_device", "seed_everything"]
