"""What a checkpoint holds, read without running any of it.

:func:`inspect_checkpoint` walks the pickle's opcodes (``pickletools``): it
never unpickles, imports or calls anything the file names, so it is safe on
any file. Use it before resuming or testing from a checkpoint someone gave
you: mmengine's own ``Runner.resume`` and its inferencers given only
``weights`` execute the config strings it reports
(docs/advanced_guides/trust.md).
"""
import io
import pickletools
import zipfile
from typing import Dict, List, Union

# dict keys whose string value mmengine executes as a config
CONFIG_KEYS = ('config', 'cfg')
_STRINGS = ('SHORT_BINUNICODE', 'BINUNICODE', 'BINUNICODE8', 'UNICODE',
            'STRING', 'BINSTRING', 'SHORT_BINSTRING')


def _pickles(path: str) -> List[bytes]:
    """The pickle streams of a torch checkpoint: ``data.pkl`` of the zip
    format, else the whole file (the legacy format, several pickles)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return [archive.read(name) for name in archive.namelist()
                    if name.endswith('data.pkl')]
    with open(path, 'rb') as f:
        return [f.read()]


def inspect_checkpoint(path: str) -> Dict[str, Union[List[str], List]]:
    """Read ``path``'s pickle opcodes and report what it names and keeps.

    Returns:
        ``{'globals': [...], 'configs': [(key, text), ...]}``: every
        ``module.name`` the pickle would import (sorted, once each), and each
        string stored under a key ``config`` or ``cfg`` (mmengine's
        ``meta['config']`` and message hub ``runtime_info['cfg']``), which
        upstream's resume and inferencers execute as Python.

    Raises:
        OSError: unreadable file. ``ValueError``: not a pickle (the opcodes
        read so far are reported only if the stream is well formed).
    """
    names, configs = set(), []
    for data in _pickles(path):
        stream = io.BytesIO(data)
        while stream.tell() < len(data):  # legacy: pickles back to back
            strings = []
            for op, arg, _ in pickletools.genops(stream):
                if op.name == 'GLOBAL':
                    names.add(arg.replace(' ', '.'))
                elif op.name == 'STACK_GLOBAL' and len(strings) >= 2:
                    names.add(f'{strings[-2]}.{strings[-1]}')
                elif op.name in _STRINGS:
                    text = arg if isinstance(arg, str) else arg.decode(
                        'latin1')
                    if strings and strings[-1] in CONFIG_KEYS:
                        configs.append((strings[-1], text))
                    strings.append(text)
                elif op.name.startswith(('BINPUT', 'LONG_BINPUT', 'PUT',
                                         'MEMOIZE')):
                    continue
                else:
                    strings.append(None)  # the next string is no value
            if stream.tell() >= len(data) or data[stream.tell():][:1] not in (
                    b'\x80', ):
                break
    return dict(globals=sorted(names), configs=configs)
