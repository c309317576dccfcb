"""The architecture: import-layer contracts, the stage registry as the one list of stages, one protocol source."""

import ast
import importlib
import pathlib
import subprocess
import sys

import pytest
import yaml

from aiida_polyinf import protocols
from aiida_polyinf.common import properties, stages
from aiida_polyinf.common import values as V

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'aiida_polyinf'


def test_import_contracts_hold():
    """`lint-imports` (import-linter, contracts in pyproject.toml): pure science, the AiiDA layer, ML, no cycles."""
    result = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / 'lint-imports'), '--no-cache'], cwd=ROOT, capture_output=True,
        text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Contracts: 4 kept, 0 broken.' in result.stdout


def test_registry_is_consistent():
    names = [stage.name for stage in stages.STAGE_LIST]
    assert names == list(stages.NAMES) and len(set(names)) == len(names)
    assert [s.exit_status for s in stages.STAGE_LIST] == sorted({s.exit_status for s in stages.STAGE_LIST})
    assert all(400 <= s.exit_status < 500 for s in stages.STAGE_LIST)  # a failed stage is a 4xx of the chain
    for stage in stages.STAGE_LIST:
        for needed in stage.needs:
            assert names.index(needed) < names.index(stage.name), (stage.name, needed)
        if stage.protocol:
            assert set(protocols.names(stage.protocol)) == set(protocols.names('polymer')), stage.name
        for name, module in stage.lammps_stages.items():
            loaded = importlib.import_module(module)
            assert callable(loaded.render) and callable(loaded.files), (name, module)
    # Link labels, process labels and LAMMPS stages are declared once.
    links = [label for s in stages.STAGE_LIST for label in s.outputs]
    assert len(links) == len(set(links))
    assert stages.lammps_module('additional_3') == 'aiida_polyinf.md.inputs'
    with pytest.raises(KeyError):
        stages.lammps_module('nope')


def test_registry_drives_the_work_chain_and_the_property_registry(aiida_profile):
    from aiida.plugins import CalculationFactory, WorkflowFactory

    from aiida_polyinf.workchains.polymer import PolymerPropertiesWorkChain

    spec = PolymerPropertiesWorkChain.spec()
    for stage in stages.STAGE_LIST:
        group, name = stage.process.split(':', 1)
        factory = WorkflowFactory if group == 'aiida.workflows' else CalculationFactory
        assert factory(name) is not None
        assert spec.exit_codes[stage.exit_code_label].status == stage.exit_status
        assert stage.port in spec.inputs, stage.name
        for quantity in stage.quantities:
            assert properties.PROPERTIES[quantity.name].unit == quantity.unit
            assert properties.unit(quantity.name) == quantity.unit
    for stage in stages.cell_stages():
        assert stage.port in spec.outputs, stage.name
    assert set(V.LINK_STAGES.values()) <= set(stages.NAMES)
    assert 'glass_transition' in V.UNAGGREGATED_LINKS and 'aggregate' in V.POLYMER_LINKS


def test_protocols_are_one_source():
    """Every protocol number lives in the YAML files of one folder; the science code holds none."""
    files = sorted(path.stem for path in (PACKAGE / 'protocols').glob('*.yaml'))
    assert files == sorted(['polymer'] + [s.protocol for s in stages.STAGE_LIST if s.protocol])
    for name in files:
        data = yaml.safe_load((PACKAGE / 'protocols' / f'{name}.yaml').read_text())
        assert set(data) == {'default_protocol', 'default_inputs', 'protocols'}, name
        for protocol, spec in data['protocols'].items():
            assert spec.get('description'), (name, protocol)
    # No protocol dicts or level tables left in the science packages.
    for path in PACKAGE.glob('*/*.py'):
        if path.parent.name not in ('polymers', 'qm', 'ff', 'md', 'ml'):
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assert target.id not in ('FAST', 'MODERATE', 'PRECISE', 'PROTOCOLS', 'LEVELS'), path
    # fast scales moderate down; precise says where it is moderate's.
    assert protocols.parameters('md', 'fast')['cell']['n_chains'] < protocols.parameters('md', 'moderate')['cell']['n_chains']
    assert protocols.parameters('nemd', 'precise') == protocols.parameters('nemd', 'moderate')
    assert 'same numbers as moderate' in protocols.descriptions('nemd')['precise'].lower()
    assert protocols.parameters('qm', 'precise') != protocols.parameters('qm', 'moderate')


def test_override_validation_names_the_bad_key():
    good = {'md': {'trials': 2, 'parameters': {'sampling': {'steps': 100}}}, 'qm': {'parameters': {'gpu': False}},
            'tg': {'options': {'queue_name': 'any'}}, 'stages': ['intake', 'qm']}
    assert protocols.validate_overrides(good, 'fast') == good
    for bad, words in (
        ({'md': {'trails': 2}}, ("'md.trails'", 'trials')),
        ({'qm': {'parameters': {'method': {'bassis': 'sto-3g'}}}}, ("'qm.parameters.method.bassis'", 'basis')),
        ({'nemd': {'parameters': {'slabs': {'n': 3}}}}, ("'nemd.parameters.slabs'", 'single value')),
        ({'stages': ['intake', 'qmm']}, ('qmm', 'intake, qm, ff')),
        ({'frobnicate': 1}, ("'frobnicate'", 'stages')),
        (['md'], ('mapping',)),
    ):
        with pytest.raises(protocols.ProtocolError) as info:
            protocols.validate_overrides(bad, 'fast')
        for word in words:
            assert word in str(info.value), (bad, str(info.value))
    with pytest.raises(protocols.ProtocolError, match='choose from fast, moderate, precise'):
        protocols.inputs('md', 'quick')


def test_run_cli_refuses_bad_overrides_before_anything(tmp_path, aiida_profile):
    from click.testing import CliRunner

    from aiida_polyinf.cli import cmd_root

    bad = tmp_path / 'bad.yaml'
    bad.write_text('md:\n  trails: 3\n')
    result = CliRunner().invoke(cmd_root, ['run', 'no-such-group', '--protocol', 'fast', '--overrides', str(bad)])
    assert result.exit_code != 0
    assert "unknown override key 'md.trails'" in result.output and 'trials' in result.output
    options = {param.name: param for param in cmd_root.commands['run'].params}
    assert list(options['protocol'].type.choices) == protocols.names()


def test_every_declared_value_reaches_the_export(aiida_profile_clean):
    """A values Dict per link label of the registry, made by a calcfunction with the polymer as a direct input and
    holding every value its stage declares: each value is a column of the per-polymer and per-trial export."""
    from aiida import orm
    from aiida.engine import calcfunction

    from aiida_polyinf.campaign.intake import import_rows
    from aiida_polyinf.data.values import values_dict
    from aiida_polyinf.export.query import load_dataset

    polymer = import_rows([{'id': 'PE', 'smiles': '*CC*'}], 'test/registry', source='test').polymers[0]

    @calcfunction
    def make(polymer, label, names, trial):
        scope = next(s for s in stages.STAGE_LIST if label.value in s.outputs).outputs[label.value]
        extra = {'trial': trial.value, 'seed': 7} if scope == 'trial' else {}
        return {label.value: values_dict({name: 1.5 for name in names.get_list()}, protocol='fast',
                                         descriptor_set='qmex' if label.value == 'descriptors' else None, **extra)}

    for stage in stages.STAGE_LIST:
        for label in stage.outputs:
            names = list(stage.value_names) or ['homo_eV']
            make(polymer, orm.Str(label), orm.List(names), orm.Int(0))
    frame = load_dataset('test/registry')
    per_trial = load_dataset('test/registry', trials=True)
    for stage in stages.STAGE_LIST:
        for name in stage.value_names:
            assert name in frame.columns, (stage.name, name)
            assert frame.loc[0, name] == 1.5
            if any(scope == 'trial' for scope in stage.outputs.values()):
                assert name in per_trial.columns, (stage.name, name)
        if stage.outputs:
            assert frame.loc[0, f'missing.{stage.name}'] == '', stage.name
    assert frame.loc[0, 'uuid.glass_transition'] and frame.loc[0, 'uuid.thermal_conductivity']
