"""Training and rendering benchmarks (``main.py bench``, time to quality).

They render with ``explorer.core.latent`` and measure with ``explorer.core.quality``, so they live
here rather than beside the trainer. Qt-free.
"""
