"""High-level APIs: a pretraining model on single images."""
from .inference import (find_transform, heatmap_boxes, inference_heatmap,
                        init_pretrainer, proposal_view_size, view_heat_maps)

__all__ = ['find_transform', 'heatmap_boxes', 'inference_heatmap',
           'init_pretrainer', 'proposal_view_size', 'view_heat_maps']
