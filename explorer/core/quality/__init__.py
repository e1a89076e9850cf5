"""Sample quality: the eval classifier, Fréchet distance, precision/recall, the best snapshot,
nearest training images. Qt-free.
"""
