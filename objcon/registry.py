"""objcon's registries, children of MMDetection's.

A child registry finds its parent's components, so a config whose default scope is
``objcon`` builds mmdet (and, through mmdet, mmengine/mmcv) components by their bare
names; ``mmpretrain.X`` reaches mmpretrain's registries by scope prefix. Components
are imported lazily from ``locations`` the first time a registry is searched.
"""
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODEL_WRAPPERS as MMDET_MODEL_WRAPPERS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMDET_OPTIM_WRAPPER_CONSTRUCTORS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import OPTIMIZERS as MMDET_OPTIMIZERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import RUNNERS as MMDET_RUNNERS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISBACKENDS as MMDET_VISBACKENDS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmengine.registry import Registry

RUNNERS = Registry('runner', parent=MMDET_RUNNERS, locations=['objcon.engine'])
LOOPS = Registry('loop', parent=MMDET_LOOPS, locations=['objcon.engine'])
HOOKS = Registry('hook', parent=MMDET_HOOKS, locations=['objcon.engine.hooks'])

DATASETS = Registry('dataset', parent=MMDET_DATASETS, locations=['objcon.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMDET_DATA_SAMPLERS, locations=['objcon.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMDET_TRANSFORMS,
    locations=['objcon.datasets.transforms'])

MODELS = Registry('model', parent=MMDET_MODELS, locations=['objcon.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMDET_MODEL_WRAPPERS, locations=['objcon.models'])
TASK_UTILS = Registry(
    'task util', parent=MMDET_TASK_UTILS, locations=['objcon.models'])

OPTIMIZERS = Registry(
    'optimizer', parent=MMDET_OPTIMIZERS, locations=['objcon.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMDET_OPTIM_WRAPPERS, locations=['objcon.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMDET_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['objcon.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMDET_PARAM_SCHEDULERS,
    locations=['objcon.engine'])

METRICS = Registry('metric', parent=MMDET_METRICS, locations=['objcon.evaluation'])
VISBACKENDS = Registry('vis_backend', parent=MMDET_VISBACKENDS)
VISUALIZERS = Registry('visualizer', parent=MMDET_VISUALIZERS)

# Per-image proposal sources (selective search, grid, ...), offline or in the
# pipeline: objcon's own.
PROPOSAL_SOURCES = Registry(
    'proposal source', scope='objcon', locations=['objcon.proposals'])
# Box generators that run inside a model on its own features (heat map, ...).
PROPOSAL_GENERATORS = Registry(
    'proposal generator', scope='objcon',
    locations=['objcon.models.proposal_generators'])
