"""The one place that turns a device setting into a device, and picks the default preset for it.

Every command, the trainer and the window ask here: "auto" means a CUDA GPU if there is one,
else Apple's MPS, else the CPU, everywhere.
"""

from __future__ import annotations

import torch

from trainer.config import default_preset


def _has_mps() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def available_devices() -> list[str]:
    """The device settings usable here: "auto", "cpu", then "cuda" and "mps" if present."""
    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (
        ["mps"] if _has_mps() else [])


def resolve_device(name: str) -> torch.device:
    """The device for a setting ("auto", "cpu", "cuda", "mps", or a torch name such as
    "cuda:1"); RuntimeError with a user message when the asked one is not here."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _has_mps():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for, but no CUDA GPU is available here "
                           "(use --device auto or cpu)")
    if name == "mps" and not _has_mps():
        raise RuntimeError("device 'mps' was asked for, but Apple MPS is not available here")
    return torch.device(name)


def device_type(name: str) -> str:
    """``resolve_device(name).type``, or ``name`` itself when that device is not here (a config
    written on another machine still names its preset's device)."""
    try:
        return resolve_device(name).type
    except RuntimeError:
        return name


def default_preset_for(device: str) -> str:
    """The preset a new run starts from for a device setting ("auto" resolved here)."""
    return default_preset(device_type(device))
