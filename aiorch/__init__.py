"""The core every deployable shares: settings, contracts, key layout, storage, CLI.

Kept light on purpose: nothing here imports torch or the web stack.
"""

__version__ = "0.1.0"
