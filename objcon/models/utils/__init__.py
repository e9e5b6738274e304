from .object_levels import assign_scale_levels, correspondence_mask

__all__ = ['assign_scale_levels', 'correspondence_mask']
