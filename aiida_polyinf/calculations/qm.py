"""Calcfunction that turns a QM run into the polymer's ``descriptors`` and ``charges`` nodes.

It takes the polymer as a direct input, so the export finds QM descriptors with one join per link label.
"""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..data.polymer import PolymerData
from ..data.values import values_dict
from ..qm.descriptors import flatten


@calcfunction
def qm_descriptors(
    polymer: PolymerData, output_parameters: orm.Dict, structure: orm.StructureData, charges: orm.ArrayData,
    protocol: orm.Str,
) -> dict:
    """The QMex-style ``descriptors`` Dict and the RESP ``charges``.

    ``descriptors`` follows :mod:`aiida_polyinf.export.values`: scalar values, ``units``, ``_missing`` (properties
    the driver could not compute, with the reason), ``protocol``, ``descriptor_set: qmex``, ``version`` and
    ``settings`` (whether the geometry converged, the program versions, the basis set and ECP each element got in
    the main method, ``basis`` and ``ecp``, and in RESP, ``resp_basis`` and ``resp_ecp``; runs older than these
    records have none).

    ``charges`` keeps the atom order of ``structure`` (the RDKit order of the capped oligomer), with the atom roles, so
    that the force field can map them back onto the repeat unit.
    """
    values, units = flatten(output_parameters['descriptors'])
    missing = {name: str(reason) for name, reason in output_parameters.get('property_errors', {}).items()}
    settings = {
        'geometry_converged': bool(output_parameters.get('geometry_converged')),
        'versions': output_parameters.get('versions') or {},
    }
    for key, recorded in (('basis', 'basis_used'), ('ecp', 'ecp_used'), ('resp_basis', 'resp_basis_used'),
                          ('resp_ecp', 'resp_ecp_used')):
        if output_parameters.get(recorded):
            settings[key] = dict(output_parameters[recorded])
    resp = charges.get_array('resp')
    out = orm.ArrayData()
    out.set_array('charges', np.asarray(resp, dtype=float))
    out.base.attributes.set_many(
        {
            'model': 'RESP',
            'units': 'e',
            'protocol': protocol.value,
            'smiles_mapped': structure.base.attributes.get('smiles_mapped', None),
            'atom_roles': structure.base.attributes.get('atom_roles', None),
            'symbols': [site.kind_name for site in structure.sites],
            'total_charge': float(np.sum(resp)),
        }
    )
    descriptors = values_dict(
        values, units=units, missing=missing, protocol=protocol.value, descriptor_set='qmex', settings=settings
    )
    return {'descriptors': descriptors, 'charges': out}
