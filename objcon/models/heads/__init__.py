from .object_predict_head import ObjectPredictHead

__all__ = ['ObjectPredictHead']
