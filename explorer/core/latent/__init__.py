"""Latent-space work: noise and interpolation math, rendering, sample grids, morphs, export, and
projection of an image into z. Qt-free.
"""
