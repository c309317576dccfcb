"""Caching of the QM and FF steps: the same QM `fast` step twice on the PE repeat unit; the second is not computed."""

import contextlib

import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.manage.caching import enable_caching, get_use_cache

from aiida_polyinf.profiles.caching import CACHED_PROCESSES, enable_profile_caching
from aiida_polyinf.calculations.intake import register_polymer
from aiida_polyinf.calculations.md import ff_descriptors
from aiida_polyinf.calculations.pyscf import PyscfCalculation
from aiida_polyinf.workchains.qm import QmWorkChain


#: The `fast` level with the costly properties off (a loaded 2-core machine takes minutes for the full set); the RESP
#: charges stay, the FF step needs them.
CHEAP = {
    'optimization': {'max_steps': 2},
    'properties': {
        'polarizability': False, 'solvation': None, 'ionization': False, 'esp_surface': False, 'bond_orders': False,
        'volume_grid_spacing_bohr': 0.6,
    },
}


@contextlib.contextmanager
def caching_on():
    with contextlib.ExitStack() as stack:
        for identifier in CACHED_PROCESSES:
            stack.enter_context(enable_caching(identifier=identifier))
        yield


def test_setup_enables_caching_on_the_profile(aiida_config, aiida_profile):
    before = aiida_config.get_option('caching.enabled_for', scope=aiida_profile.name)
    try:
        aiida_config.set_option('caching.enabled_for', ['aiida.calculations:core.arithmetic.add'], scope=aiida_profile.name)
        enabled, changed = enable_profile_caching(aiida_config, aiida_profile.name)
        assert changed and enabled[0] == 'aiida.calculations:core.arithmetic.add'  # what was there is kept
        assert set(CACHED_PROCESSES) <= set(enabled)
        assert enable_profile_caching(aiida_config, aiida_profile.name) == (enabled, False)  # idempotent
        for identifier in CACHED_PROCESSES:
            assert get_use_cache(identifier=identifier)
        assert not get_use_cache(identifier='aiida.calculations:polyinf.lammps')
    finally:
        aiida_config.set_option('caching.enabled_for', before, scope=aiida_profile.name)


def test_interrupted_runs_are_no_cache_source():
    """A run cut short by the machine must run again when relaunched; a converged failure may be reused."""
    for status, valid in ((430, False), (440, False), (450, False), (300, False), (410, True), (0, True)):
        node = orm.CalcJobNode()
        node.set_exit_status(status)
        assert PyscfCalculation.is_valid_cache(node) is valid, status


@pytest.mark.slow
def test_second_qm_fast_run_is_a_cache_hit(polyinf_codes):
    polymer = register_polymer(orm.Str('*CC*'))
    # A conformer seed of this test's own: the derived seed of *CC* at `fast` is what every campaign test uses, and
    # their conformers would be this run's cache source.
    builder = QmWorkChain.get_builder_from_protocol(
        polyinf_codes['pyscf'], polymer, protocol='fast', overrides={'parameters': CHEAP, 'conformer_seed': 20261201}
    )
    with caching_on():
        first_results, first = run_get_node(builder)
        second_results, second = run_get_node(builder)
        ff_first = ff_descriptors(polymer, first_results['charges'], orm.Dict({'n_units': 3, 'protocol': 'fast', 'seed': 5}))
        ff_second = ff_descriptors(polymer, second_results['charges'], orm.Dict({'n_units': 3, 'protocol': 'fast', 'seed': 5}))
    assert first.is_finished_ok and second.is_finished_ok, (first.exit_message, second.exit_message)

    def step(node, label):
        return next(d for d in node.called_descendants if d.process_label == label)

    for label in ('build_oligomer', 'PyscfCalculation', 'qm_descriptors'):
        original, again = step(first, label), step(second, label)
        assert not original.base.caching.is_created_from_cache, label
        assert again.base.caching.is_created_from_cache, label
        assert again.base.caching.get_cache_source() == original.uuid, label
    calc = step(second, 'PyscfCalculation')
    assert calc.outputs.output_parameters.uuid != step(first, 'PyscfCalculation').outputs.output_parameters.uuid
    assert second_results['descriptors'].get_dict() == first_results['descriptors'].get_dict()
    # The FF step takes the (cloned) charges of the second run: same hash, so it is a cache hit as well.
    assert ff_second['ff_descriptors'].creator.base.caching.get_cache_source() == ff_first['ff_descriptors'].creator.uuid
    # Outside the context the test profile has no caching.enabled_for: nothing would be taken from the cache.
    assert not get_use_cache(identifier='aiida.calculations:polyinf.pyscf')
