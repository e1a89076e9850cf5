"""Reading back a GIF that a test wrote (shared by the tests that check exported animations)."""

import numpy as np
from PIL import Image


def read_gif(path) -> tuple[list[np.ndarray], Image.Image]:
    """Every frame as (H, W, 3) uint8 RGB, and the opened image (for its info: duration, loop)."""
    im = Image.open(path)
    frames = []
    for i in range(im.n_frames):
        im.seek(i)
        frames.append(np.asarray(im.convert("RGB")))
    return frames, im
