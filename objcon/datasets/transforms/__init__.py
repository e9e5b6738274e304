from .object_views import ObjectViews
from .pack_object_views import PackObjectViews

__all__ = ['ObjectViews', 'PackObjectViews']
