"""Registration of every module that objcon configs may name."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import objcon's and mmdet's modules so that their registries are filled.

    A registry whose parent is mmdet's finds mmdet's classes only once mmdet's model
    (dataset, ...) modules have been imported; mmpretrain's registries become
    reachable through the ``mmpretrain.`` prefix once its registry module is imported.

    Args:
        init_default_scope (bool): Make ``objcon`` the default scope. If another
            scope is current, a new instance named ``objcon-<timestamp>`` is created,
            as mmdet does. Defaults to True.
    """
    from mmdet.utils import register_all_modules as mmdet_register_all_modules

    mmdet_register_all_modules(init_default_scope=False)
    import mmpretrain.registry  # noqa: F401

    import objcon.datasets  # noqa: F401
    import objcon.engine  # noqa: F401
    import objcon.evaluation  # noqa: F401
    import objcon.models  # noqa: F401
    import objcon.proposals  # noqa: F401

    if init_default_scope:
        never_created = (DefaultScope.get_current_instance() is None
                         or not DefaultScope.check_instance_created('objcon'))
        if never_created:
            DefaultScope.get_instance('objcon', scope_name='objcon')
            return
        current_scope = DefaultScope.get_current_instance()
        if current_scope.scope_name != 'objcon':
            warnings.warn('The current default scope '
                          f'"{current_scope.scope_name}" is not "objcon", '
                          '`register_all_modules` will force the current'
                          'default scope to be "objcon".')
            new_instance_name = f'objcon-{datetime.datetime.now()}'
            DefaultScope.get_instance(new_instance_name, scope_name='objcon')
