from .correspondence_cosine_loss import CorrespondenceCosineLoss
from .info_nce_loss import InfoNCELoss
from .intra_image_margin_loss import IntraImageMarginLoss

__all__ = ['CorrespondenceCosineLoss', 'InfoNCELoss', 'IntraImageMarginLoss']
