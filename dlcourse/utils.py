"""Seeding and device choice (used from chapter 01 on)."""

import random

import numpy as np
import torch


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch so that a cell reproduces its outputs.

    Returns a ``torch.Generator`` seeded with the same value, for code that
    prefers an explicit generator over the global one.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def get_device(prefer_gpu: bool = True) -> torch.device:
    """The device the course's code runs on: CUDA when present, else the CPU."""
    if prefer_gpu and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")
