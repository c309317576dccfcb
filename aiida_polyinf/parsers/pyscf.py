"""Parser of ``PyscfCalculation``: results.json into Dict, StructureData and ArrayData nodes."""

from __future__ import annotations

import json

import numpy as np
from aiida import orm
from aiida.parsers import Parser

from ..qm.results import classify_failure, descriptors_from_results

#: Driver status -> exit code label of PyscfCalculation.
STATUS_EXIT = {
    'scf_not_converged': 'ERROR_SCF_NOT_CONVERGED',
    'geometry_not_converged': 'ERROR_GEOMETRY_NOT_CONVERGED',
    'walltime_exceeded': 'ERROR_OUT_OF_WALLTIME',
    'out_of_memory': 'ERROR_OUT_OF_MEMORY',
    'error': 'ERROR_DRIVER_FAILED',
}


def structure_like(template: orm.StructureData, coords) -> orm.StructureData:
    """A copy of ``template`` (cell, kinds, attributes such as the atom mapping) with new positions."""
    structure = orm.StructureData(cell=template.cell, pbc=template.pbc)
    for site, position in zip(template.sites, coords):
        structure.append_atom(position=tuple(float(x) for x in position), symbols=site.kind_name)
    for key in ('smiles', 'smiles_mapped', 'atom_roles', 'bonds', 'equivalence', 'repeat_unit_smiles',
                'n_repeat_units'):
        if template.base.attributes.get(key, None) is not None:
            structure.base.attributes.set(key, template.base.attributes.get(key))
    return structure


class PyscfParser(Parser):
    """Parse the QM driver's results; on failure, keep what can be restarted from (the last geometry)."""

    def parse(self, **kwargs):
        names = self.retrieved.base.repository.list_object_names()
        log = self.retrieved.base.repository.get_object_content('pyscf.log') if 'pyscf.log' in names else ''
        if 'results.json' not in names:
            status = classify_failure(None, log)
            if status in ('out_of_memory', 'walltime_exceeded'):
                return self.exit_codes[STATUS_EXIT[status]].format(error='')
            return self.exit_codes.ERROR_DRIVER_KILLED
        try:
            results = json.loads(self.retrieved.base.repository.get_object_content('results.json'))
        except (json.JSONDecodeError, UnicodeDecodeError) as exception:
            return self.exit_codes.ERROR_OUTPUT_CORRUPT.format(error=exception)

        template = self.node.inputs.structure
        geometry = results.get('geometry')
        if geometry and len(geometry.get('coords_angstrom', [])) == len(template.sites):
            self.out('output_structure', structure_like(template, geometry['coords_angstrom']))

        descriptors = descriptors_from_results(results)
        charges = descriptors.pop('resp_charges', None)
        summary = {
            'status': results.get('status'),
            'error_message': results.get('error_message'),
            'descriptors': descriptors,
            'geometry_converged': results.get('geometry_converged'),
            'opt_steps': results.get('opt_steps'),
            'scf_cycles': results.get('scf_cycles'),
            'timings': results.get('timings'),
            'versions': results.get('versions'),
            'basis_used': results.get('basis_used') or {},
            'ecp_used': results.get('ecp_used') or {},
            'resp_basis_used': (results.get('resp') or {}).get('basis_used') or {},
            'resp_ecp_used': (results.get('resp') or {}).get('ecp_used') or {},
            'property_errors': results.get('property_errors') or {},
            'warnings': results.get('warnings') or [],
        }
        self.out('output_parameters', orm.Dict(json.loads(json.dumps(summary, allow_nan=False, default=str))))

        status = classify_failure(results, log)
        if status is not None:
            return self.exit_codes[STATUS_EXIT.get(status, 'ERROR_DRIVER_FAILED')].format(
                error=results.get('error_message') or status
            )
        if charges is not None:
            array = orm.ArrayData()
            array.set_array('resp', np.asarray(charges, dtype=float))
            array.base.attributes.set('model', 'RESP')
            self.out('charges', array)
            expected = self.node.inputs.parameters.get_dict().get('molecule', {}).get('charge', 0)
            if abs(float(np.sum(charges)) - expected) > 1e-6:
                return self.exit_codes.ERROR_CHARGES_NOT_NEUTRAL.format(total=float(np.sum(charges)), charge=expected)
        return None
