"""Calcfunctions of the FF and MD stages. Each one that makes a Dict of values takes the polymer as a direct input."""

from __future__ import annotations

import json
import pathlib
import tempfile

from aiida import orm
from aiida.engine import calcfunction

from ..data.polymer import PolymerData
from ..data.values import values_dict
from ..md.aggregate import aggregate

#: The seed of the typed oligomer in the ``ff_parameters`` of chains made before the stage registry, which had none
#: (the seed is now derived and given: ``derive_seed(smiles, protocol, 0, 'ff')``); kept so that they can be relaunched.
SEED_BEFORE_REGISTRY = 0


def _typed_chain(polymer: PolymerData, charges: orm.ArrayData, protocol: dict, seed: int | None):
    """The GAFF2-typed chain of the MD protocol's size, with the RESP charges (or Gasteiger, if the protocol asks)."""
    from ..ff.typing import type_polymer

    cell = protocol['cell']
    model = protocol.get('charge_model', 'resp')
    return type_polymer(
        polymer.smiles,
        charges.get_array('charges') if model == 'resp' else None,
        charges.base.attributes.get('atom_roles') if model == 'resp' else None,
        charges.base.attributes.get('smiles_mapped') if model == 'resp' else None,
        charge_model=model,
        n_atoms=cell['atoms_per_chain'],
        tacticity=cell.get('tacticity', 'atactic'),
        terminator=cell.get('terminator', 'CH3'),
        seed=seed,
    )


@calcfunction
def ff_descriptors(polymer: PolymerData, charges: orm.ArrayData, parameters: orm.Dict) -> dict:
    """``ff_descriptors``: GAFF2 descriptors of an oligomer typed with the QM RESP charges (set ``ff_resp``).

    RadonPy's kernel-mean embedding of mass, charge, epsilon, sigma, bond k/r0, angle k/theta0, dihedral K, plus
    plain averages (mean atomic mass, electrons per atom, mean angle force constant), on an ``n_units``-mer. RadonPy's
    own descriptor (Gasteiger charges, cyclic 10-mer) is the ML benchmark's set ``ff``; this one is ``ff_resp``.
    """
    from ..ff.descriptors_resp import DESCRIPTOR_SET, resp_descriptors_from_qm

    options = parameters.get_dict()
    seed = options.get('seed', SEED_BEFORE_REGISTRY)
    values = resp_descriptors_from_qm(
        polymer.smiles,
        charges.get_array('charges'),
        charges.base.attributes.get('atom_roles'),
        charges.base.attributes.get('smiles_mapped'),
        n_units=options.get('n_units', 10),
        seed=seed,
    )
    return {
        'ff_descriptors': values_dict(
            {name.replace('.', '_'): float(value) for name, value in values.items()},  # no '.' in attribute keys
            unit_of=lambda name: '',
            protocol=options.get('protocol'),
            descriptor_set=DESCRIPTOR_SET,
            seed=seed,
            settings={'charge_model': 'resp', 'n_units': options.get('n_units', 10)},
        )
    }


@calcfunction
def build_cell(polymer: PolymerData, charges: orm.ArrayData, parameters: orm.Dict, seed: orm.Int) -> dict:
    """The amorphous cell of one trial: typed chains placed by RadonPy, as a LAMMPS data file plus its topology.

    ``seed`` sets the chain conformations (random walk, tacticity), the placement and the velocities.
    """
    from ..md.cell import make_cell

    protocol = parameters.get_dict()
    typed = _typed_chain(polymer, charges, protocol, seed=seed.value)
    with tempfile.TemporaryDirectory() as directory:
        info = make_cell(
            typed.chain, directory, protocol['cell']['n_chains'],
            density=protocol['cell'].get('initial_density', 0.05), seed=seed.value, temp=protocol.get('temp', 300.0),
        )
        data = orm.SinglefileData(pathlib.Path(directory) / info.files['data'], filename='cell.data')
        topology = orm.SinglefileData(pathlib.Path(directory) / info.files['topology'], filename='topology.json')
    summary = info.as_dict()
    summary.update({'degree_of_polymerization': typed.degree_of_polymerization, 'charge_model': typed.charge_model,
                    'chain_charge': typed.total_charge})
    return {'data': data, 'topology': topology, 'cell_info': orm.Dict(json.loads(json.dumps(summary, default=list)))}


@calcfunction
def md_properties(
    polymer: PolymerData, analysis: orm.Dict, seed: orm.Int, trial: orm.Int, protocol: orm.Str
) -> dict:
    """The ``properties`` of one trial (value, and standard error as ``<name>_err``), named as PI1070."""
    result = analysis.get_dict()
    values = dict(result.get('values', {}))
    for name, error in result.get('errors', {}).items():
        if name in values and error is not None:
            values[f'{name}_err'] = error
    units = dict(result.get('units', {}))
    units.update({f'{name}_err': unit for name, unit in result.get('units', {}).items()})
    converged = result.get('check_eq', {}).get('converged')
    return {
        'properties': values_dict(
            values, units=units, missing=result.get('missing', {}), protocol=protocol.value, seed=seed.value,
            trial=trial.value, unit_of=lambda name: '', settings={'converged': bool(converged)},
        )
    }


@calcfunction
def aggregate_trials(polymer: PolymerData, protocol: orm.Str, **trials: orm.Dict) -> dict:
    """``aggregate``: mean (bare PI1070 name), ``_std``, ``_min``, ``_max`` and ``_count`` over the trials given.

    Failed trials are simply not passed in; ``_count`` says how many runs each value used. A value that no trial has
    is named in ``_missing`` with the reason of the first trial that gives one.
    """
    from ..common.properties import unit

    values = aggregate([{k: v for k, v in node.get_dict().items() if isinstance(v, (int, float))}
                        for node in trials.values()])
    reasons: dict = {}
    for label in sorted(trials):
        for name, why in (trials[label].get('_missing') or {}).items():
            reasons.setdefault(name, f'in no trial ({label}: {why})')
    missing = {name: why for name, why in reasons.items() if name not in values}
    return {
        'aggregate': values_dict(
            values, protocol=protocol.value, missing=missing, settings={'trials': sorted(trials)}, unit_of=unit,
        )
    }
