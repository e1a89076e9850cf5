"""Feature directions in z: the ``Direction`` record and its math, the finders, the attribute
model, the Control view's ``DirectionSet``, one-call computing, and pixel measurements. Qt-free.
"""
