"""Datasets: the built-in Shapes, image folders and torchvision sets, behind one loader."""

from __future__ import annotations

from pathlib import Path

import torch

from trainer.config import DataConfig
from trainer.data.base import DataError, ImageData, LoadReport, StreamingData, in_memory
from trainer.data.decode import LoadProgress

__all__ = ["DataError", "ImageData", "LoadReport", "StreamingData", "has_classes", "in_memory",
           "load_dataset"]

# The sets whose images always come with class labels (CelebA has attributes, no classes).
LABELLED_SETS = ("shapes", "mnist", "fashion-mnist", "cifar10")


def has_classes(dataset: str, path: str | Path = "") -> bool:
    """Whether loading ``dataset`` will give classes (so a conditional model is possible): the
    one rule behind the CLI's and the form's conditional default. An image folder has them by
    ``class_folders``' rule (from a quick look, see folder_is_labelled)."""
    if dataset == "folder":
        from trainer.data.folder import folder_is_labelled

        return bool(str(path).strip()) and folder_is_labelled(str(path).strip())
    return dataset in LABELLED_SETS


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
