"""The leak audit on PI1070: no descriptor set with physical quantities gives a benchmark target back through an
identity (with the ``md`` columns of ``md_columns``, i.e. the LEAKS exclusions), and the audit does flag the known
leaks when their exclusions are removed (docs/ml-leaks.md)."""

import numpy as np
import pandas as pd
import pytest

from aiida_polyinf.common.properties import LEAKS
from aiida_polyinf.datasets import PI1070
from aiida_polyinf.ml import leaks as L
from aiida_polyinf.ml.data import load_csv
from aiida_polyinf.ml.descriptors import md_columns
from aiida_polyinf.ml.tasks import load_config

CONFIG = load_config()
TARGETS = list(dict.fromkeys(CONFIG['targets'] + CONFIG['tasks']['variety']['targets']))
#: every configured set and the combinations of the physical ones (exempt parts are dropped by set_table)
SETS = list(dict.fromkeys(
    [s for group in CONFIG['descriptor_sets'].values() for s in group]
    + CONFIG['tasks']['interpolation']['descriptor_sets'] + [CONFIG['tasks']['variety']['descriptors']]
    + ['radonpy_qm', 'md', 'radonpy_qm+md', '2dfp', '2dfp+md', 'radonpy_qm+2dfp+md']
))


@pytest.fixture(scope='module')
def pi1070():
    frame = load_csv(PI1070)
    return frame, {'2dfp': L.physical_2dfp(frame['smiles'])}


def test_the_benchmark_targets_are_covered():
    assert {'density', 'thermal_conductivity', 'Cp', 'bulk_modulus', 'volume_expansion'} <= set(TARGETS)
    assert {'radonpy_qm+ff_gasteiger+md', 'radonpy_qm+ff_gasteiger', 'ecfp', '2dfp'} <= set(SETS)


@pytest.mark.parametrize('target', TARGETS)
def test_no_descriptor_set_leaks_the_target(pi1070, target):
    frame, tables = pi1070
    audited = 0
    for spec in SETS:
        table = L.set_table(frame, spec, target, tables)
        if table is None:
            assert all(part in L.EXEMPT_SETS for part in spec.split('+')), spec
            continue
        if 'md' in spec.split('+'):  # the md part is the benchmarks' own: md_columns, so it follows LEAKS
            assert [c[3:] for c in table.columns if c.startswith('md.')] == md_columns(frame, target)
        findings = L.audit(frame[target].to_numpy(dtype=float), table, target, spec)
        assert not findings, '\n'.join(map(str, findings))
        audited += 1
    assert audited >= 6


@pytest.mark.parametrize('target,put_back,relation', [
    ('density', ('dielectric_const_dc',), 'Lorentz–Lorenz'),  # the reported leak: static and dc both in
    ('density', ('refractive_index',), 'Lorentz–Lorenz'),
    ('density', ('thermal_diffusivity',), 'κ/(ρ·Cp)'),
    ('Cp', ('Cv',), 'Mayer'),
    ('Cp', ('thermal_diffusivity',), 'κ/(ρ·Cp)'),
    ('bulk_modulus', ('isentropic_bulk_modulus',), 'κ_S = κ_T·Cv/Cp'),
    ('volume_expansion', ('linear_expansion',), 'α_V = 3·α_L'),
    ('thermal_conductivity', ('thermal_diffusivity',), 'κ/(ρ·Cp)'),
    ('Cv', ('thermal_diffusivity',), 'Mayer'),
])
def test_the_audit_flags_a_removed_exclusion(pi1070, target, put_back, relation):
    frame, tables = pi1070
    exclude = [c for c in LEAKS[target] if c not in put_back]
    findings = L.audit_spec(frame, target, 'radonpy_qm+md', tables, exclude=exclude)
    assert findings, f'{target} with {put_back} back: no finding'
    routes = [f for f in findings if relation in f.relation]
    assert routes, '\n'.join(map(str, findings))
    best = routes[0]
    assert best.target == target and best.descriptors == 'radonpy_qm+md' and best.r2 > L.THRESHOLD
    assert any(f'md.{c}' in best.columns for c in put_back)


def test_the_reported_density_leak(pi1070):
    """The issue's numbers: dc − static + 1 is n² within 5e-4, and Lorentz–Lorenz on it with the QM polarizability
    and molecular weight gives density back; the audit names the relation and the columns."""
    frame, _ = pi1070
    n2 = frame['dielectric_const_dc'] - frame['static_dielectric_const'] + 1
    assert np.nanmax(np.abs(n2 - frame['refractive_index'] ** 2)) < 5e-4
    table = pd.DataFrame({'md.static_dielectric_const': frame['static_dielectric_const'],
                          'md.dielectric_const_dc': frame['dielectric_const_dc'],
                          'radonpy_qm.qm_polarizability_monomer': frame['radonpy_qm.qm_polarizability_monomer'],
                          'radonpy_qm.mol_weight_monomer': frame['radonpy_qm.mol_weight_monomer']})
    findings = L.audit(frame['density'].to_numpy(dtype=float), table, 'density', 'leaky')
    assert findings and 'Lorentz–Lorenz' in findings[0].relation and findings[0].r2 > 0.99999
    assert set(findings[0].columns) == set(table.columns)
    assert 'dielectric_const_dc' in LEAKS['density'] and 'dielectric_const_dc' not in md_columns(frame, 'density')


def test_generic_check_finds_an_unlisted_power_law():
    """A product nobody wrote into RELATIONS is found by the log-log least squares, and only its minimal subset."""
    rng = np.random.default_rng(0)
    a, b, c = rng.uniform(1, 5, size=(3, 300))
    y = 2.0 * a**1.5 / b
    table = pd.DataFrame({'md.Rg': a, 'md.nematic_order_parameter': b, 'radonpy_qm.qm_homo_monomer': -c})
    findings = L.audit(y, table, 'self-diffusion', 'synthetic')
    assert [f.columns for f in findings] == [('md.Rg', 'md.nematic_order_parameter')]
    assert findings[0].space == 'log' and findings[0].r2 > 0.999999
    assert not L.audit(y * np.exp(rng.normal(0, 0.3, 300)), table, 'self-diffusion', 'noisy')
