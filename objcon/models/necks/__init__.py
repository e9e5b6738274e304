from .dino_projection_head import DINOProjectionHead
from .projection_mlp import ProjectionMLP

__all__ = ['DINOProjectionHead', 'ProjectionMLP']
