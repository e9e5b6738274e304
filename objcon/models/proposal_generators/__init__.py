"""Proposal generators: boxes made inside the model from its own features."""
from .base import BaseProposalGenerator
from .heatmap_proposals import HeatMapProposals
from .per_image_proposals import PerImageProposals

__all__ = ['BaseProposalGenerator', 'HeatMapProposals', 'PerImageProposals']
