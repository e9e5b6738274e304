import sys
from typing import Optional, Union

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from objcon.registry import HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """A tqdm progress bar over training iterations (and validation batches).

    The logger prints every ``interval`` iterations; the bar shows where a long run
    stands in between, with its rate and remaining time. Only the main process draws.

    Args:
        enabled (bool | str): True, False, or ``'auto'`` to draw only when stderr is
            a terminal (logs and CI stay clean). Defaults to ``'auto'``.
        show_loss (bool): Show the latest total loss on the bar. Defaults to True.
    """

    priority = 'LOW'

    def __init__(self, enabled: Union[bool, str] = 'auto',
                 show_loss: bool = True) -> None:
        if enabled not in (True, False, 'auto'):
            raise ValueError(f"enabled must be True, False or 'auto', got {enabled!r}")
        self.enabled = enabled
        self.show_loss = show_loss
        self._train_bar = None
        self._val_bar = None

    def _active(self) -> bool:
        if not is_main_process():
            return False
        if self.enabled == 'auto':
            return sys.stderr.isatty()
        return bool(self.enabled)

    def before_train(self, runner) -> None:
        if self._active():
            from tqdm import tqdm
            self._train_bar = tqdm(
                total=runner.max_iters, initial=runner.iter, desc='train',
                unit='it', dynamic_ncols=True, leave=True)

    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if self._train_bar is None:
            return
        self._train_bar.update(1)
        if self.show_loss and outputs and 'loss' in outputs:
            self._train_bar.set_postfix(loss=f"{float(outputs['loss']):.4f}",
                                        refresh=False)

    def after_train(self, runner) -> None:
        if self._train_bar is not None:
            self._train_bar.close()
            self._train_bar = None

    def _open_eval_bar(self, dataloader, desc: str) -> None:
        if self._active():
            from tqdm import tqdm
            self._val_bar = tqdm(total=len(dataloader), desc=desc, unit='batch',
                                 dynamic_ncols=True, leave=False)

    def before_val_epoch(self, runner) -> None:
        self._open_eval_bar(runner.val_dataloader, 'val')

    def before_test_epoch(self, runner) -> None:
        self._open_eval_bar(runner.test_dataloader, 'test')

    def after_val_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                       outputs=None) -> None:
        if self._val_bar is not None:
            self._val_bar.update(1)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._val_bar is not None:
            self._val_bar.close()
            self._val_bar = None

    # Testing reuses the validation bar's updates.
    after_test_iter = after_val_iter
    after_test_epoch = after_val_epoch
