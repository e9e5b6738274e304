from .correspondence_cosine_loss import CorrespondenceCosineLoss

__all__ = ['CorrespondenceCosineLoss']
