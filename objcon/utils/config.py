"""Config loading with named variables that can be overridden.

objcon's configs name what a user or a preset changes as top-level variables
(``view_size``, ``proposal_cache``, ``data_root``, ...) and build their pipelines
and models from them. MMEngine evaluates each config file once, so a plain
``--cfg-options view_size=96`` would change the variable but not the pipeline
already built from it. :func:`load_config` applies an override whose key is a
plain name (no dot) *while* the files are parsed: every top-level assignment of
that name, in the config or any of its bases, takes the new value, and whatever
the file derives from it follows. Dotted keys (``model.backbone.depth=18``) are
merged afterwards, as MMEngine does.
"""
import ast
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Set

from mmengine.config import Config

from objcon.errors import InputError


def _literal(value) -> ast.expr:
    try:
        node = ast.parse(repr(value), mode='eval').body
        ast.literal_eval(node)
    except (SyntaxError, ValueError) as e:
        raise ValueError(f'cannot set a config variable to {value!r}: not a '
                         'Python literal') from e
    return node


@contextmanager
def _assign_names(values: Dict[str, object], assigned: Set[str]) -> Iterator[None]:
    """Make MMEngine's parser assign ``values`` to their top-level names."""
    import mmengine.config.config as mmengine_config
    original = mmengine_config.RemoveAssignFromAST

    class AssignNames(original):

        def visit_Module(self, node: ast.Module) -> ast.Module:
            body = []
            for stmt in node.body:
                stmt = self.visit(stmt)  # drops the `_base_` assignment
                if stmt is None:
                    continue
                targets = getattr(stmt, 'targets', None)
                if (isinstance(stmt, ast.Assign) and len(targets) == 1
                        and isinstance(targets[0], ast.Name)
                        and targets[0].id in values):
                    stmt.value = _literal(values[targets[0].id])
                    assigned.add(targets[0].id)
                body.append(stmt)
            node.body = body
            return ast.fix_missing_locations(node)

    mmengine_config.RemoveAssignFromAST = AssignNames
    try:
        yield
    finally:
        mmengine_config.RemoveAssignFromAST = original


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """``Config.fromfile`` + ``--cfg-options``, named variables applied at parse
    time (see the module docstring).

    Args:
        path (str): Config file.
        cfg_options (dict, optional): Overrides: plain names and dotted keys.

    Returns:
        Config: The config, with every override applied.

    Raises:
        InputError: The config refused a named variable's value (a config
            checks its variables by raising ``ValueError`` with the reason).
    """
    cfg_options = dict(cfg_options or {})
    names = {k: v for k, v in cfg_options.items() if '.' not in k}
    assigned: Set[str] = set()
    try:
        if names:
            with _assign_names(names, assigned):
                cfg = Config.fromfile(path)
        else:
            cfg = Config.fromfile(path)
    except ValueError as e:
        raise InputError(f'{path}: {e}') from e
    # MMEngine formats the whole config with yapf each time it prints, dumps or
    # checkpoints it (five times a training run): 1-3 s each for a demo config
    # with many views. Config.fromfile ignores its own format_python_code=False
    # (mmengine 0.10), so the flag is set here; the text stays valid Python.
    object.__setattr__(cfg, '_format_python_code', False)
    # names no file assigns are new top-level keys, as MMEngine makes them
    rest = {k: v for k, v in cfg_options.items() if k not in assigned}
    if rest:
        cfg.merge_from_dict(rest)
    return cfg
