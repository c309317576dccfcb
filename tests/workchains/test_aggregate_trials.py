"""The `aggregate` Dict of the MD stage names the values that no trial has, so that the export says why (a fast cell
whose chain MSD has no linear regime has no self-diffusion in any trial)."""

from aiida import orm

from aiida_polyinf.calculations.md import aggregate_trials
from aiida_polyinf.data.polymer import PolymerData
from aiida_polyinf.data.values import values_dict


def test_values_of_no_trial_are_named_missing(aiida_profile_clean):
    polymer = PolymerData('*CC*').store()
    trials = {
        'trial_00': values_dict({'density': 0.80, 'Cp': 1900.0}, missing={'self-diffusion': 'MSD slope <= 0'},
                                protocol='fast', seed=1, trial=0).store(),
        'trial_01': values_dict({'density': 0.82}, missing={'self-diffusion': 'too short', 'Cp': 'no fluctuation'},
                                protocol='fast', seed=2, trial=1).store(),
    }
    result = aggregate_trials(polymer, orm.Str('fast'), **trials)['aggregate']
    assert result['density_count'] == 2 and result['Cp_count'] == 1
    assert result['_missing'] == {'self-diffusion': 'in no trial (trial_00: MSD slope <= 0)'}  # Cp: one trial has it
    assert result.creator.inputs.polymer.uuid == polymer.uuid
