from .centred_distillation_loss import CentredDistillationLoss
from .correspondence_cosine_loss import CorrespondenceCosineLoss
from .info_nce_loss import InfoNCELoss
from .intra_image_margin_loss import IntraImageMarginLoss
from .multi_positive_nce_loss import MultiPositiveNCELoss
from .sup_con_loss import SupConLoss

__all__ = ['CentredDistillationLoss', 'CorrespondenceCosineLoss', 'InfoNCELoss',
           'IntraImageMarginLoss', 'MultiPositiveNCELoss', 'SupConLoss']
