"""Model weights: the registry of known models, the ncnn importer and the loaders.

Use ``load_model(name=..., weights=...)``; see ``registry.REGISTRY`` for the names.
"""

from jobs.weights.loaders import LoadedModel, load_model, sha256_file
from jobs.weights.registry import REGISTRY, WeightsEntry, lookup, names_for

__all__ = ["REGISTRY", "LoadedModel", "WeightsEntry", "load_model", "lookup", "names_for", "sha256_file"]
