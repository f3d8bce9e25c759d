"""Host-specific pieces, each loaded only if its toolbox is installed."""
import importlib
import importlib.util

for _part, _host in (('det', 'mmdet'), ('seg', 'mmseg'),
                     ('cls', 'mmpretrain')):
    if importlib.util.find_spec(_host) is not None:
        importlib.import_module(f'{__name__}.{_part}')
