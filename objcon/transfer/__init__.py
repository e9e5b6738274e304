from .convert import (TRANSFER_PARTS, CheckpointConversionError,
                      convert_pretrain_checkpoint, detector_kind,
                      verify_against_detector)

__all__ = [
    'TRANSFER_PARTS', 'CheckpointConversionError', 'convert_pretrain_checkpoint',
    'detector_kind', 'verify_against_detector'
]
