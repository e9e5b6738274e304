"""Transfer benchmark: the pretrain -> convert -> fine-tune -> test pipeline
(``pipeline``), objcon-bench's rows and presets (``bench``, tools/bench.py) and
their report (``report``: table, CSV and plot)."""
from .pipeline import (METRIC_COLUMNS, StepFailed, append_result, convert,
                       evaluate, finetune, last_checkpoint, pretrain, run_tool,
                       tool_env)

__all__ = [
    'METRIC_COLUMNS', 'StepFailed', 'append_result', 'convert', 'evaluate',
    'finetune', 'last_checkpoint', 'pretrain', 'run_tool', 'tool_env'
]
