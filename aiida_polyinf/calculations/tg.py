"""Calcfunction of the Tg stage: the values Dict ``glass_transition`` (per trial, the polymer a direct input)."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..common.stages import STAGES
from ..data.polymer import PolymerData
from ..data.values import values_dict


@calcfunction
def glass_transition(
    polymer: PolymerData, parameters: orm.Dict, seed: orm.Int, trial: orm.Int, protocol: orm.Str, **thermo: orm.ArrayData
) -> dict:
    """Tg and the expansion coefficients above and below it, from the stepwise cooling's thermo output.

    ``thermo``: ``thermo_<i>`` of each LAMMPS run of the stage in order (a run continued from a restart file adds
    one); the fit and its quality (R^2 of each branch, the uncertainty of the crossing, the plateau temperatures and
    specific volumes, ``clear_kink`` and its reason) are in ``settings``, always, also without a clear kink.
    """
    from ..md.tg import analyse

    order = sorted(thermo, key=lambda key: int(key.rsplit('_', 1)[1]))
    columns = {name: np.concatenate([thermo[key].get_array(name) for key in order]) for name in ('Step', 'Temp', 'Density')}
    result = analyse(columns['Step'], columns['Temp'], columns['Density'], parameters.get_dict())
    fit = result['settings']
    values = dict(result['values'])
    missing = dict(result.get('missing', {}))
    for name, key in (('r2_glass', 'r2_glass'), ('r2_rubber', 'r2_rubber'), ('slope_ratio', 'slope_ratio')):
        if fit.get(key) is None:
            missing[f'glass_transition_{name}'] = fit.get('reason') or 'not computed'
        else:
            values[f'glass_transition_{name}'] = float(fit[key])
    units = {q.name: q.unit for q in STAGES['tg'].quantities + STAGES['tg'].quality}
    return {
        'glass_transition': values_dict(
            values, units=units, missing=missing,
            protocol=protocol.value, seed=seed.value, trial=trial.value, settings=result['settings'],
        )
    }
