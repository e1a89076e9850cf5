"""Datasets: the built-in Shapes, image folders and torchvision sets, behind one loader."""

from __future__ import annotations

import torch

from trainer.config import DataConfig
from trainer.data.base import DataError, ImageData, LoadReport, StreamingData, in_memory
from trainer.data.decode import LoadProgress

__all__ = ["DataError", "ImageData", "LoadReport", "StreamingData", "in_memory", "load_dataset"]


def load_dataset(cfg: DataConfig, device: torch.device | str = "cpu",
                 progress: LoadProgress | None = None) -> ImageData | StreamingData:
    """``progress(done, total)``: images decoded so far, for the sets that decode files (an image
    folder, CelebA); called from worker threads."""
    if cfg.dataset == "shapes":
        from trainer.data.shapes import make_shapes

        return make_shapes(cfg.n_images, cfg.size, cfg.seed).to(device)
    if cfg.dataset == "folder":
        from trainer.data.folder import load_image_folder

        return load_image_folder(cfg.path, cfg.size, cfg.attributes_csv or None, device,
                                 progress=progress)
    from trainer.data.torchvision_sets import load_torchvision

    return load_torchvision(cfg.dataset, cfg.size, cfg.path, device, progress=progress)
