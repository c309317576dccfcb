"""The project works from its own clone: no code, test, benchmark, doc or Makefile target reads a folder outside the
repository, and no file holds a path of the machine it was written on.

CI clones the repository beside a ``../shared`` folder, so a dependency on it would not fail there: this test reads
every file of the tree instead.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
SKIP_DIRS = {'.git', '.venv', '__pycache__', '.pytest_cache', 'node_modules', '.ruff_cache'}
SKIP_SUFFIXES = {'.png', '.pyc', '.aiida', '.parquet', '.zip', '.gz'}
#: A folder beside the clone (`../shared`, `ROOT.parent / 'shared'`, `'..', 'shared'`), or a path of this machine.
PATTERNS = [
    re.compile(r'\.\./shared'),
    re.compile(r"""parents?(\[\d+\])?\s*/\s*['"]shared['"]"""),
    re.compile(r"""['"]\.\.['"]\s*,\s*['"]shared['"]"""),
    re.compile(r"""os\.path\.dirname\(ROOT\)\s*,\s*['"]shared"""),
    re.compile(r'/work/(main|shared)\b'),
]


def _files():
    for path in ROOT.rglob('*'):
        if any(part in SKIP_DIRS or part.endswith('.egg-info') for part in path.relative_to(ROOT).parts):
            continue
        if path.is_file() and path.suffix not in SKIP_SUFFIXES and path != pathlib.Path(__file__).resolve():
            yield path


def test_no_path_outside_the_repository():
    found = []
    for path in _files():
        try:
            text = path.read_text(encoding='utf-8')
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if any(p.search(line) for p in PATTERNS):
                found.append(f'{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}')
    assert not found, 'paths outside the repository:\n' + '\n'.join(found)


def test_the_patterns_catch_the_old_forms():
    """The patterns would have caught what the code held before PI1070 moved into the package."""
    old = [
        "PI1070 = ROOT.parent / 'shared' / 'data' / 'radonpy' / 'PI1070.csv'",
        'CSV = os.path.join(os.path.dirname(ROOT), "shared", "data", "radonpy", "PI1070.csv")',
        "PI1070 = os.path.join(ROOT, '..', 'shared', 'data', 'radonpy', 'PI1070.csv')",
        'polyinf import-dataset radonpy ../shared/data/radonpy/PI1070.csv',
        '"source": "/work/shared/data/radonpy/PI1070.csv",',
    ]
    for line in old:
        assert any(p.search(line) for p in PATTERNS), line


def test_pi1070_ships_with_its_licence():
    from aiida_polyinf.datasets import PI1070, PI1070_LICENSE

    assert PI1070.exists() and PI1070.stat().st_size > 1_000_000
    assert 'BSD 3-Clause' in PI1070_LICENSE.read_text() and 'RadonPy developers' in PI1070_LICENSE.read_text()
    assert 'Hayashi' in (PI1070.parent / 'README.md').read_text()
