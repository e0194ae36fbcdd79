"""ResNet Lab's helpers: the code the notebooks build once and then reuse.

One module per concern: ``data`` (Fashion-MNIST), ``runtime`` (seeding, device), ``models``,
``gradients`` (per-layer gradient norms), ``experiments`` (the fresh networks notebooks 01 and 07
and the explorer measure), ``tracing`` (shapes), ``training``, ``analysis``
(lesions, paths, loss landscapes), ``claims`` (asserted results with a margin), ``plotting``,
``widgets`` (imported on its own: ``from helpers import widgets``).
"""
from . import analysis, claims, data, experiments, gradients, models, plotting, runtime, tracing, training
from .claims import claim
from .runtime import experiment_seed, pick_device, seed_everything

__version__ = "0.1.0"
__all__ = ["analysis", "claims", "data", "experiments", "gradients", "models", "plotting", "runtime", "tracing", "training",
           "claim", "experiment_seed", "pick_device", "seed_everything"]
