from .load_proposals import LoadProposals

__all__ = ['LoadProposals']
