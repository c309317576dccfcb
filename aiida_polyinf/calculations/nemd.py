"""Calcfunctions of the NEMD and ion stages: the values Dicts ``thermal_conductivity`` and ``ion_mobility``.

Each takes the polymer as a direct input (the convention of :mod:`aiida_polyinf.export.values`) and is per trial
(``seed`` and ``trial`` recorded).
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..data.polymer import PolymerData
from ..data.values import values_dict


def _trial_values(md_properties: orm.Dict | None) -> dict:
    if md_properties is None:
        return {}
    return {k: v for k, v in md_properties.get_dict().items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


@calcfunction
def thermal_conductivity(
    polymer: PolymerData, parameters: orm.Dict, seed: orm.Int, trial: orm.Int, protocol: orm.Str,
    md_properties: orm.Dict | None = None, **runs,
) -> dict:
    """kappa (W/m/K) by RadonPy's Mueller-Plathe analysis over the NEMD run and its extensions, and the thermal
    diffusivity kappa / (rho Cp) with this trial's MD density and Cp.

    ``runs``: ``profile_<i>`` (the parser's ``profile``) and ``thermo_<i>`` (its ``thermo``) of each run, in order.
    The fit quality (R^2 of both sides, the rate of single profiles that fit, ``linear``) is in ``settings``.
    """
    from ..md.nemd import thermal_conductivity as kappa_of, thermal_diffusivity

    p = parameters.get_dict()
    order = sorted({key.split('_', 1)[1] for key in runs}, key=int)
    profiles, pieces, length = [], [], None
    for index in order:
        profile = runs[f'profile_{index}']
        thermo = runs[f'thermo_{index}']
        profiles.append({name: profile.get_array(name) for name in ('step', 'coord', 'temp', 'count')})
        pieces.append((thermo.get_array('Time'), thermo.get_array('v_heatflux')))
        axis = {'x': 'Lx', 'y': 'Ly', 'z': 'Lz'}[p['axis']]
        length = float(thermo.get_array(axis)[-1])
    result = kappa_of(profiles, pieces, length, p)
    values = {'thermal_conductivity': result['kappa'], 'thermal_conductivity_err': result['kappa_err']}
    missing = {}
    md = _trial_values(md_properties)
    if 'density' in md and 'Cp' in md and md['Cp'] > 0:
        values['thermal_diffusivity'] = thermal_diffusivity(result['kappa'], md['density'], md['Cp'])
    else:
        missing['thermal_diffusivity'] = 'needs this trial\'s MD density and Cp'
    grad = result['gradient']
    settings = {
        'linear': bool(result['linear']),
        'r2_left': grad['r2_left'],
        'r2_right': grad['r2_right'],
        'single_fit_rate': grad['single_fit_rate'],
        'gradient_K_per_m': grad['gradient'],
        'heat_flux_W_per_m2': result['flux']['flux'],
        't_max': grad['t_max'],
        't_min': grad['t_min'],
        'profiles_used': grad['profiles_used'],
        'runs': len(order),
        'threshold_r2': p['threshold_r2'],
    }
    units = {'thermal_conductivity_err': 'W/(m K)'}
    return {
        'thermal_conductivity': values_dict(
            values, units=units, missing=missing, protocol=protocol.value, seed=seed.value, trial=trial.value,
            settings=settings,
        )
    }


@calcfunction
def ion_mobility(polymer: PolymerData, analysis: orm.Dict, seed: orm.Int, trial: orm.Int, protocol: orm.Str) -> dict:
    """``ion_mobility``: D of Na+ and Cl- (m^2/s, with ``_err``), the MSD exponents, the fit window in ``settings``;
    a species whose motion is not diffusive has no D and says why in ``_missing``."""
    result = analysis.get_dict()
    values = dict(result.get('values', {}))
    units = dict(result.get('units', {}))
    for name, error in result.get('errors', {}).items():
        values[f'{name}_err'] = error
        units[f'{name}_err'] = 'm^2/s'
    return {
        'ion_mobility': values_dict(
            values, units=units, missing=result.get('missing', {}), protocol=protocol.value, seed=seed.value,
            trial=trial.value, settings=result.get('fit', {}), unit_of=lambda name: '',
        )
    }
