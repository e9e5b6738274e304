"""Turn an objcon pretraining checkpoint into weights an mmdet detector loads.

Also reads checkpoints of mmpretrain's self-supervised algorithms (the image-level
baselines of configs/baselines), whose backbone alone transfers.

Only the online network transfers (the EMA target is the teacher of pretraining,
not the result). Each objcon algorithm declares what transfers where
(``BaseObjectSelfSupervisor.transfer_map``, read from the checkpoint's config).
Parts, cumulative:

- ``backbone``: the ResNet (for C4 models also res5, which mmdet's C4 detectors keep
  as ``roi_head.shared_head``);
- ``neck``: + the FPN;
- ``head``: + the object trunk onto mmdet's ``Shared4Conv1FCBBoxHead``
  (``roi_head.bbox_head.shared_convs.0-3``, ``shared_fcs.0``); a C4 model has
  nothing more than its backbone part.

A model whose backbone is a whole ResNet (res2-res5, e.g. PLRC, or the backbone of
an FPN model) also converts for a C4 detector (``detector='c4'``): res5
(``backbone.layer4``) becomes the detector's RoI shared head
(``roi_head.shared_head.layer4``).

A DETR-family pretrainer (DETReg, UP-DETR) transfers its whole detector: ``backbone``,
``neck`` (the channel mapper) and ``head`` (+ the transformer, queries and box head),
except the class-specific layers (it trained one "object" class): they are left out
and named in the summary (``reinitialized``), and the fine-tuning detector
initialises them for its own classes.

A supervised mmdet detector (the supervised reference row: e.g. the demo Mask R-CNN
trained on the labels) transfers by part under its own names: ``backbone`` (for a
C4 detector also its RoI shared head, res5) and ``neck`` (+ the FPN). Its heads
were trained for its own task and are not a pretrained trunk: ``head`` is refused.

A detector whose FPN has no norm layers (mmdet's stock configs) gets the pretrained
FPN with each BN folded into its conv (weight scaled, bias set): the same function
the pretrained FPN computes in eval mode.
"""
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

TRANSFER_PARTS = ('backbone', 'neck', 'head')

# Algorithms whose checkpoints convert: objcon's (each declares its transfer map),
# and mmpretrain's image-level self-supervised ones (BYOL, MoCo v2, DenseCL...: the
# baselines), whose ``neck`` is an MLP, not an FPN, so only their backbone
# transfers.
_IMAGE_LEVEL_MODULES = ('mmpretrain.models.selfsup', )
_PRETRAIN_MODULES = ('objcon.models.algorithms', ) + _IMAGE_LEVEL_MODULES
_IMAGE_LEVEL_MAP = dict(backbone=[('backbone.', 'backbone.')])
# Supervised detectors (mmdet's): their backbone and neck transfer by name.
_DETECTOR_MODULES = ('mmdet.models.detectors', )


def _detector_transfer_map(model_cfg: dict) -> Dict[str, List[Tuple[str, str]]]:
    """The identity transfer map, by part, of an mmdet detector's config."""
    backbone = [('backbone.', 'backbone.')]
    roi_head = model_cfg.get('roi_head') or {}
    if roi_head.get('shared_head') is not None:
        # a C4 detector's res5, transferred with the backbone as objcon's C4 models
        backbone.insert(0, ('roi_head.shared_head.', 'roi_head.shared_head.'))
    transfer_map = dict(backbone=backbone)
    if model_cfg.get('neck') is not None:
        transfer_map['neck'] = [('neck.', 'neck.')]
    return transfer_map


class CheckpointConversionError(RuntimeError):
    """A checkpoint that cannot be converted, or a conversion that does not load."""


def _read_pretrain_checkpoint(path: str
                              ) -> Tuple[Dict[str, torch.Tensor], str, dict, list,
                                         Optional[str]]:
    """The state dict, algorithm name, transfer map, detector prefixes left out
    (re-initialised) and the stock config to check against, of a checkpoint."""
    import objcon  # noqa: F401  (safe globals for Runner checkpoints)
    if not osp.isfile(path):
        raise CheckpointConversionError(f'no such checkpoint: {path}')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is refused
        raise CheckpointConversionError(
            f'{path} is not a checkpoint torch can read safely: {e}') from e
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt \
            or 'cfg' not in ckpt.get('meta', {}):
        raise CheckpointConversionError(
            f'{path} is not an objcon pretraining checkpoint: expected a Runner '
            'checkpoint (state_dict + meta.cfg) written by tools/train.py')
    cfg = Config.fromstring(ckpt['meta']['cfg'], '.py')
    algo = str(cfg.model.get('type', ''))
    scope = cfg.get('default_scope') or 'objcon'
    from objcon.registry import MODELS
    from objcon.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    name = algo if '.' in algo or scope == 'objcon' else f'{scope}.{algo}'
    try:
        cls = MODELS.get(name) if algo else None
    except Exception:  # noqa: BLE001 - an unknown scope is an unknown model
        cls = None
    module = getattr(cls, '__module__', '')
    if module.startswith(_DETECTOR_MODULES):
        return (ckpt['state_dict'], f'mmdet.{cls.__name__}',
                _detector_transfer_map(cfg.model), [], None)
    if not module.startswith(_PRETRAIN_MODULES):
        raise CheckpointConversionError(
            f'{path} was trained with model type {algo!r}, not an objcon or '
            'mmpretrain self-supervised algorithm nor an mmdet detector: '
            'nothing to convert')
    if module.startswith(_IMAGE_LEVEL_MODULES):
        return (ckpt['state_dict'], f'mmpretrain.{cls.__name__}', _IMAGE_LEVEL_MAP,
                [], None)
    reinitialized = getattr(cls, 'reinitialized_prefixes', lambda _: [])(cfg.model)
    return (ckpt['state_dict'], algo, cls.transfer_map(cfg.model),
            list(reinitialized), getattr(cls, 'transfer_config', None))


def convert_pretrain_checkpoint(path: str, part: str = 'neck',
                                detector: Optional[str] = None
                                ) -> Tuple['OrderedDict[str, torch.Tensor]', dict]:
    """Map the online weights of an objcon pretraining checkpoint to mmdet names.

    Args:
        path (str): Checkpoint written by ``tools/train.py`` with an objcon
            pretraining config, an mmpretrain self-supervised config or an
            mmdet detector config.
        part (str): ``backbone``, ``neck`` (backbone + FPN) or ``head`` (+ the box
            head trunk). Defaults to ``neck``.
        detector (str, optional): ``'fpn'`` or ``'c4'``: the kind of detector
            the weights are for. Defaults to None: the model's own kind (C4 for
            C4 models, FPN otherwise).

    Returns:
        tuple: The detector-named state dict and a summary dict (algorithm, part,
        tensors per part, ``reinitialized``: detector prefixes left out for the
        detector to initialise, ``config``: the algorithm's stock detector config
        or None).

    Raises:
        CheckpointConversionError: Not a checkpoint of a pretraining model or
            detector, or the requested part is absent (e.g. ``neck`` of a C4
            model, ``head`` of a detector).
    """
    if part not in TRANSFER_PARTS:
        raise CheckpointConversionError(
            f'part must be one of {TRANSFER_PARTS}, got {part!r}')
    if detector not in (None, 'fpn', 'c4'):
        raise CheckpointConversionError(
            f"detector must be 'fpn' or 'c4', got {detector!r}")
    state, algo, transfer_map, reinitialized, config = \
        _read_pretrain_checkpoint(path)
    if part == 'head' and algo.startswith('mmdet.'):
        raise CheckpointConversionError(
            f'{path} is a supervised detector ({algo}): its heads were trained '
            'for its own classes, not pretrained; it transfers --part backbone '
            'or --part neck (fine-tune from the checkpoint itself, load_from, '
            'to keep its heads)')
    if part not in transfer_map and part != 'head':
        kind = ('an image-level model: its neck is a projection MLP, not an FPN'
                if algo.startswith('mmpretrain.') else
                'a model without an FPN (C4, or a backbone alone)')
        raise CheckpointConversionError(
            f'{path} is {kind} ({algo}); it has no {part} to transfer, only '
            f'{" + ".join(transfer_map)}: use --part backbone')
    online = {k: v for k, v in state.items() if not k.startswith('target_net.')}
    # C4: res5 is the detector's RoI shared head, transferred with the backbone
    is_c4 = 'neck' not in transfer_map and any(
        dst.startswith('roi_head.shared_head.')
        for _, dst in transfer_map.get('backbone', []))
    if detector == 'fpn' and is_c4:
        raise CheckpointConversionError(
            f'{path} is a C4 model ({algo}): its res5 is an RoI head, not a '
            'backbone stage; it converts for C4 detectors only')
    if detector == 'c4' and not is_c4:
        if part != 'backbone':
            raise CheckpointConversionError(
                f'a C4 detector takes the backbone only (res5 as its RoI '
                f'shared head), not the {part}: use --part backbone')
        if not any(k.startswith('backbone.layer4.') for k in online):
            raise CheckpointConversionError(
                f'{path} ({algo}) has no res5 (backbone.layer4) for the C4 '
                "detector's RoI shared head")
        # res5 of a whole ResNet is the C4 detector's RoI shared head
        transfer_map = dict(backbone=[
            ('backbone.layer4.', 'roi_head.shared_head.layer4.'),
            *[(src, dst) for src, dst in transfer_map['backbone']]])
        is_c4 = True
    wanted = TRANSFER_PARTS[:TRANSFER_PARTS.index(part) + 1]
    out, counts = OrderedDict(), {}
    for name in wanted:
        if name not in transfer_map:
            continue
        n = 0
        taken = set()  # the first (most specific) prefix of a key wins
        for src, dst in transfer_map[name]:
            for k, v in online.items():
                name_out = dst + k[len(src):]
                if k.startswith(src) and k not in taken and \
                        not name_out.startswith(tuple(reinitialized)):
                    out[name_out] = v.clone()
                    taken.add(k)
                    n += 1
        if n == 0:
            raise CheckpointConversionError(
                f'{path} ({algo}) has no {name} weights '
                f'(looked for {[s for s, _ in transfer_map[name]]})')
        counts[name] = n
    return out, dict(algorithm=algo, part=part, c4=is_c4, tensors=counts,
                     parts=list(counts), reinitialized=reinitialized,
                     config=config)


def _fold_bn_into_conv(state: Dict[str, torch.Tensor], target_keys: set,
                       eps: float = 1e-5) -> List[str]:
    """Fold ``X.bn.*`` into ``X.conv`` where the detector has no norm at X."""
    folded = []
    for key in [k for k in state if k.endswith('.bn.running_mean')]:
        prefix = key[:-len('bn.running_mean')]
        if prefix + 'bn.running_mean' in target_keys or \
                prefix + 'conv.weight' not in target_keys:
            continue
        mean = state.pop(prefix + 'bn.running_mean')
        var = state.pop(prefix + 'bn.running_var')
        gamma = state.pop(prefix + 'bn.weight')
        beta = state.pop(prefix + 'bn.bias')
        state.pop(prefix + 'bn.num_batches_tracked', None)
        scale = gamma / torch.sqrt(var + eps)
        weight = state[prefix + 'conv.weight']
        bias = state.get(prefix + 'conv.bias', torch.zeros_like(mean))
        state[prefix + 'conv.weight'] = weight * scale.view(-1, 1, 1, 1)
        state[prefix + 'conv.bias'] = (bias - mean) * scale + beta
        folded.append(prefix.rstrip('.'))
    return folded


def load_detector_config(config: str) -> Config:
    """A detector config from a path or an ``mmdet::`` name."""
    if not config.startswith('mmdet::'):
        return Config.fromfile(config)
    # Config.fromfile does not resolve `mmdet::` itself; a base does.
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
        f.write(f'_base_ = {config!r}\n')
    try:
        return Config.fromfile(f.name)
    finally:
        import os
        os.unlink(f.name)


def detector_kind(config: str) -> str:
    """``'c4'`` for a detector whose RoI head has a shared head (res5), else
    ``'fpn'``.

    Args:
        config (str): Detector config (path or ``mmdet::...``).

    Returns:
        str: The kind, as :func:`convert_pretrain_checkpoint` takes it.
    """
    roi_head = load_detector_config(config).model.get('roi_head') or {}
    return 'c4' if roi_head.get('shared_head') is not None else 'fpn'


def build_detector(config: str):
    """Build an mmdet detector from a config path or an ``mmdet::`` name."""
    from objcon.registry import MODELS
    from objcon.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = load_detector_config(config)
    cfg.model.setdefault('backbone', {})['init_cfg'] = None  # no download
    from mmengine.registry import DefaultScope
    scope = cfg.get('default_scope', 'mmdet')
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg.model)


def verify_against_detector(state: 'OrderedDict[str, torch.Tensor]',
                            config: str,
                            reinitialized: Sequence[str] = ()) -> dict:
    """Fold BN where needed, load into the detector and check key coverage.

    Every detector key under a transferred prefix must be provided (no missing
    key), every provided key must exist with the same shape (no unexpected key),
    and the loaded tensors must equal the provided ones.

    Args:
        state (OrderedDict): Output of :func:`convert_pretrain_checkpoint`
            (modified in place when BN is folded).
        config (str): Detector config (path or ``mmdet::...``).
        reinitialized (Sequence[str]): Detector prefixes deliberately not
            provided (class-specific layers): not counted as missing, listed
            in ``reinitialized`` with their number of tensors. Defaults to ().

    Returns:
        dict: ``missing``, ``unexpected``, ``folded`` lists, ``reinitialized``
        (the detector keys left to the detector's init).

    Raises:
        CheckpointConversionError: On any missing/unexpected/mismatched key.
    """
    model = build_detector(config)
    target = model.state_dict()
    folded = _fold_bn_into_conv(state, set(target))
    prefixes = sorted({k.split('.')[0] + '.' for k in state})
    prefixes = [p for p in prefixes if p != 'roi_head.']
    prefixes += sorted({'.'.join(k.split('.')[:3]) + '.'
                        for k in state if k.startswith('roi_head.')})
    left = tuple(reinitialized)
    expected = {k for k in target if any(k.startswith(p) for p in prefixes)
                and not (left and k.startswith(left))}
    missing = sorted(expected - set(state))
    unexpected = sorted(k for k in state if k not in target)
    shape = sorted(k for k in state if k in target
                   and tuple(target[k].shape) != tuple(state[k].shape))
    if missing or unexpected or shape:
        raise CheckpointConversionError(
            f'the converted weights do not fit {config}: '
            f'{len(missing)} missing {missing[:5]}, {len(unexpected)} unexpected '
            f'{unexpected[:5]}, {len(shape)} with another shape {shape[:5]} '
            '(is it the same backbone depth / FPN width as the pretraining?)')
    model.load_state_dict(state, strict=False)
    loaded = model.state_dict()
    for k, v in state.items():
        if not torch.equal(loaded[k], v.to(loaded[k].dtype)):
            raise CheckpointConversionError(f'{k} did not load as written')
    return dict(missing=missing, unexpected=unexpected, folded=folded,
                checked_prefixes=prefixes, detector_keys=len(expected),
                reinitialized=sorted(k for k in target
                                     if left and k.startswith(left)))
