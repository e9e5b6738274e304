"""Named source configs for the command-line tools (``--source NAME``)."""
import copy
import json

from .box_filter import CCOP_FILTER, SOCO_FILTER

PRESETS = dict(
    # SoCo's filter on OpenCV selective search with objcon's defaults (a 176 px
    # search, HSV, k 175, sigma 0.5, 2 strategies: see docs/proposals.md).
    soco=dict(type='SelectiveSearch', filter=SOCO_FILTER),
    # SoCo's own proposals, for parity runs: the reference's scikit-image selective
    # search at full resolution (~0.5 s of CPU per ImageNet-sized image) + its filter.
    **{'soco-reference': dict(type='SkimageSelectiveSearch', scale=300, sigma=0.9,
                              min_size=100, filter=SOCO_FILTER)},
    # CCOP's recipe: fast mode on a downscaled image (128 px, as DETReg), its filter
    # (aspect, size, NMS 0.5 on random scores, top 50).
    ccop=dict(type='SelectiveSearch', mode='fast', max_side=128, filter=CCOP_FILTER),
    # DETReg's targets: fast mode on the image resized to 128x128 (aspect not
    # kept), the first 30 boxes in OpenCV's order, no other filter.
    detreg=dict(type='SelectiveSearch', mode='fast', search_size=(128, 128),
                filter=dict(max_num=30)),
    # Unfiltered selective search.
    selective_search=dict(type='SelectiveSearch'),
    # DetCon's masks (scale 1000, min size 1000 input-image pixels).
    detcon=dict(type='FelzenszwalbSegments', scale=1000, min_size=1000),
    grid=dict(type='GridBoxes', rows=4, cols=4),
    random=dict(type='RandomBoxes', num=16, seed=0),
    whole_image=dict(type='WholeImage'),
)


def parse_source(spec: str) -> dict:
    """A source config from a preset name or a JSON object.

    Args:
        spec (str): A key of :data:`PRESETS` or a JSON dict such as
            ``'{"type": "GridBoxes", "rows": 3}'``.

    Returns:
        dict: A config for ``PROPOSAL_SOURCES.build`` (a copy).
    """
    if spec in PRESETS:
        return copy.deepcopy(PRESETS[spec])
    try:
        cfg = json.loads(spec)
    except json.JSONDecodeError:
        raise ValueError(f'--source must be one of {sorted(PRESETS)} or a JSON dict, '
                         f'got {spec!r}') from None
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'a source config needs a "type", got {spec!r}')
    return cfg
