"""Broken NC blocks that tests/test_learn.py must catch (test-only)."""
import torch
from mmengine.registry import MODELS

from mmnc.layers import NCBlock


@MODELS.register_module()
class ConstantNC(NCBlock):
    """Outputs its decoder's bias everywhere: no longer carries its input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x) + self.decoder[-1].bias.mean()


@MODELS.register_module()
class NoisyNC(NCBlock):
    """Adds noise to its input: no longer the identity at insertion."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x + 0.05 * x.std() * torch.randn_like(x))
