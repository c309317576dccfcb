"""The code check of `polyinf setup`: `lmp -h` and the PySCF imports as aiida-shell ShellJobs, recorded in the graph."""

import pytest

from aiida_polyinf.profiles import codecheck

HELP = """
Large-scale Atomic/Molecular Massively Parallel Simulator - 22 Jul 2025 - Update 4
Git info (HEAD / stable_22Jul2025_update4)

Installed packages:

EXTRA-MOLECULE KSPACE
MOLECULE OPENMP

List of individual style options included in this LAMMPS executable
"""


def test_parsers():
    info = codecheck.parse_lammps_help(HELP)
    assert info == {'version': '22 Jul 2025 - Update 4', 'packages': ['EXTRA-MOLECULE', 'KSPACE', 'MOLECULE', 'OPENMP']}
    assert codecheck.missing_parts('lmp', info) == []
    assert codecheck.missing_parts('lmp', {'packages': ['KSPACE']}) == ['MOLECULE']
    versions = codecheck.parse_python_versions('pyscf 2.14.0\ngeometric 1.1.1\nnumpy 2.1.0\n')
    assert versions['version'] == 'pyscf 2.14.0' and codecheck.missing_parts('pyscf', versions) == []


def test_real_codes_are_checked_and_recorded(polyinf_codes):
    for label, code in polyinf_codes.items():
        ok, summary, node = codecheck.check_code(code, label)
        assert ok, summary
        assert node.process_type == 'aiida.calculations:core.shell' and node.is_finished_ok
        assert code.base.extras.get(codecheck.EXTRA_CHECK) == node.uuid
        info = node.outputs.code_info.get_dict()
        assert info['version'] == summary
        if label == 'lmp':
            assert {'MOLECULE', 'KSPACE'} <= set(info['packages']) and 'Jul' in summary
        else:
            assert summary.startswith('pyscf 2.')


def test_a_code_that_does_not_start_fails_its_check(aiida_localhost):
    from aiida import orm

    broken = orm.InstalledCode(label='lmp-broken', computer=aiida_localhost, filepath_executable='/bin/false').store()
    ok, summary, node = codecheck.check_code(broken, 'lmp')
    assert not ok and 'exit 400' in summary
    assert codecheck.EXTRA_CHECK not in broken.base.extras.all
