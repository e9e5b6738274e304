import logging

import pytest
from mmengine.logging import MMLogger


@pytest.fixture
def mm_log():
    """Messages logged through mmengine's current logger during the test."""
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
