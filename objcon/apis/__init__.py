"""High-level APIs: a pretraining model on single images."""
from .inference import (find_transform, inference_heatmap, init_pretrainer,
                        proposal_view_size)

__all__ = ['find_transform', 'inference_heatmap', 'init_pretrainer',
           'proposal_view_size']
