"""Print what a checkpoint names and the config strings it keeps, without
loading it (no code from the file runs): ``python
tools/analysis/inspect_checkpoint.py CKPT``. Exit status 1 when it keeps a
config string (mmengine's Runner.resume and inferencers execute those)."""
import argparse
import sys

from mmnc.checkpoint_inspect import inspect_checkpoint


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('checkpoint')
    parser.add_argument('--lines', type=int, default=20,
                        help='lines of each config string to print')
    args = parser.parse_args(argv)
    report = inspect_checkpoint(args.checkpoint)
    print('globals named:')
    for name in report['globals']:
        print(f'  {name}')
    for key, text in report['configs']:
        lines = text.splitlines()
        print(f'config string under {key!r} ({len(lines)} lines; '
              f'mmengine\'s Runner.resume / inferencers execute it):')
        for line in lines[:args.lines]:
            print(f'  | {line}')
        if len(lines) > args.lines:
            print(f'  | ... {len(lines) - args.lines} more lines')
    if not report['configs']:
        print('no config string')
    return 1 if report['configs'] else 0


if __name__ == '__main__':
    sys.exit(main())
