from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _two_threads() -> None:
    # The test machine has two cores and runs other work: keep torch from oversubscribing it.
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
