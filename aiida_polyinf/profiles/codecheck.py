"""The code check of ``polyinf setup``: each pipeline code is run once as an aiida-shell ``ShellJob`` (``lmp -h``;
the code's Python importing pyscf, geometric and numpy), so that the provenance graph records which LAMMPS build
(version, packages) and which PySCF the codes are, and a code that does not start is found before a campaign.

The result is a ``Dict`` (``code_info``) made by the ``ShellJob``; its uuid and the version are kept in the code's
extras ``polyinf_code_check`` and ``polyinf_code_version``. aiida-shell fits here and not in the stages: see
docs/plugins.md.
"""

from __future__ import annotations

import pathlib
import re

EXTRA_CHECK = 'polyinf_code_check'
EXTRA_VERSION = 'polyinf_code_version'
#: Arguments of the check, per code label.
ARGUMENTS = {
    'lmp': ['-h'],
    'pyscf': ['-c', 'import geometric, numpy, pyscf; print("pyscf", pyscf.__version__); '
                    'print("geometric", geometric.__version__); print("numpy", numpy.__version__)'],
}
#: What a check needs to find, per code label.
REQUIRED = {'lmp': ('MOLECULE', 'KSPACE'), 'pyscf': ('pyscf', 'geometric', 'numpy')}


def parse_lammps_help(text: str) -> dict:
    """Version and installed packages from the output of ``lmp -h``."""
    info: dict = {}
    match = re.search(r'Large-scale Atomic/Molecular Massively Parallel Simulator - (.+)', text)
    if match:
        info['version'] = match.group(1).strip()
    packages = re.search(r'Installed packages:\s*\n\s*\n(.*?)(?:\n\s*\n|\Z)', text, re.S)
    info['packages'] = packages.group(1).split() if packages else []
    return info


def parse_python_versions(text: str) -> dict:
    """``{module: version}`` from lines ``<module> <version>``."""
    versions = dict(line.split(None, 1) for line in text.splitlines() if len(line.split()) == 2)
    return {'version': f'pyscf {versions.get("pyscf", "?")}', 'modules': versions}


def lammps_info(dirpath: pathlib.Path):
    """aiida-shell parser hook of the ``lmp -h`` check."""
    from aiida import orm

    return {'code_info': orm.Dict(parse_lammps_help((dirpath / 'stdout').read_text()))}


def python_info(dirpath: pathlib.Path):
    """aiida-shell parser hook of the PySCF check."""
    from aiida import orm

    return {'code_info': orm.Dict(parse_python_versions((dirpath / 'stdout').read_text()))}


PARSERS = {'lmp': lammps_info, 'pyscf': python_info}


def missing_parts(label: str, info: dict) -> list[str]:
    found = set(info.get('packages', [])) | set(info.get('modules', {}))
    return [part for part in REQUIRED.get(label, ()) if part not in found]


def check_code(code, label: str | None = None) -> tuple[bool, str, object]:
    """Run the check of ``code`` (``lmp`` or ``pyscf``, from its label) now; return (ok, summary, the ShellJob node).

    On success the code's extras record the check and the version.
    """
    from aiida_shell import launch_shell_job

    label = label or code.label
    try:
        results, node = launch_shell_job(
            code, arguments=ARGUMENTS[label], parser=PARSERS[label],
            metadata={'options': {'redirect_stderr': True}, 'label': f'polyinf code check {label}'},
        )
    except Exception as exception:  # noqa: BLE001 - reported as a failed check
        return False, f'{type(exception).__name__}: {exception}', None
    if not node.is_finished_ok or 'code_info' not in results:
        return False, f'exit {node.exit_status}: {node.exit_message}', node
    info = results['code_info'].get_dict()
    missing = missing_parts(label, info)
    if missing:
        return False, f'{info.get("version", "?")}, missing {", ".join(missing)}', node
    code.base.extras.set_many({EXTRA_CHECK: node.uuid, EXTRA_VERSION: info.get('version', '?')})
    return True, info.get('version', '?'), node
