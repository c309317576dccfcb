"""``QmWorkChain``: conformer search, PySCF geometry optimisation, QMex descriptors and RESP charges of a polymer."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain

from ..calculations.intake import build_oligomer
from ..calculations.qm import qm_descriptors
from ..common.seeds import derive_seed
from ..data.polymer import PolymerData
from ..protocols import ProtocolMixin, merge
from .qm_base import PyscfBaseWorkChain


def polymer_elements(polymer: PolymerData) -> tuple[str, ...]:
    """The elements of the polymer's CH3-capped oligomer: the repeat unit's, with C and H of the caps."""
    return tuple(sorted(set(polymer.repeat_unit.elements) | {'C', 'H'}))


class QmWorkChain(ProtocolMixin, WorkChain):
    """The QM stage of one polymer, on its CH3-capped monomer (or n-mer).

    1. conformer search: RDKit ETKDG + MMFF over ``num_conformers`` conformers, the lowest goes to DFT; skipped when
       ``structure`` is given (``PolymerPropertiesWorkChain`` passes the intake stage's, built with these settings);
    2. geometry optimisation (geomeTRIC) and single-point properties at the optimised geometry, in one PySCF job
       restarted by ``PyscfBaseWorkChain`` when it fails recoverably;
    3. ``descriptors`` and ``charges`` made by a calcfunction that takes the polymer as a direct input.
    """

    _protocol_file = 'qm'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('polymer', valid_type=PolymerData, help='The polymer.')
        spec.input('protocol', valid_type=orm.Str, default=lambda: orm.Str('custom'), help='Recorded on the outputs.')
        spec.input('n', valid_type=orm.Int, default=lambda: orm.Int(1), help='Repeat units in the capped oligomer.')
        spec.input('num_conformers', valid_type=orm.Int, default=lambda: orm.Int(1))
        spec.input('conformer_seed', valid_type=orm.Int, help='Seed of the conformer embedding (derive_seed).')
        spec.input(
            'structure', valid_type=orm.StructureData, required=False,
            help='The start conformer (the intake stage\'s, made by `build_oligomer` with `n`, `num_conformers` and '
            '`conformer_seed`); omitted: built here.',
        )
        spec.input(
            'restart_structure', valid_type=orm.StructureData, required=False,
            help='Start the PySCF run from this geometry (the last one of a failed run, in the site order of '
            '`build_oligomer`) instead of the new conformer; set by `polyinf restart-failed`.',
        )
        spec.expose_inputs(PyscfBaseWorkChain, namespace='pyscf', exclude=('pyscf.structure',))
        spec.outline(cls.build_conformer, cls.run_qm, cls.inspect_qm, cls.results)
        spec.output('structure', valid_type=orm.StructureData, help='The optimised capped oligomer.')
        spec.output('descriptors', valid_type=orm.Dict, help='QMex-style descriptors with units.')
        spec.output('charges', valid_type=orm.ArrayData, help='RESP charges in the atom order of `structure`.')
        spec.output('output_parameters', valid_type=orm.Dict, help='Everything the driver reported.')
        spec.exit_code(
            310, 'ERROR_CONFORMER_FAILED', message='no 3D conformer could be built for {smiles}: {reason}'
        )
        spec.exit_code(401, 'ERROR_SUB_PROCESS_FAILED_PYSCF', message='the PySCF work chain failed: {message}')
        spec.exit_code(402, 'ERROR_NO_CHARGES', message='the PySCF run returned no RESP charges')

    @classmethod
    def get_builder_from_protocol(
        cls, code: orm.AbstractCode, polymer: PolymerData, protocol: str | None = None, overrides: dict | None = None,
        options: dict | None = None,
    ):
        """A builder filled from the protocol (``fast``, ``moderate`` or ``precise``), then ``overrides``.

        ``overrides`` may set ``n``, ``num_conformers``, ``conformer_seed``, ``parameters`` (the PySCF driver input),
        ``options`` and ``max_iterations``; ``options`` updates the job's metadata options. The conformer seed is
        derived (:func:`aiida_polyinf.common.seeds.derive_seed`, stage ``conformer``) unless ``overrides`` gives one.

        The basis sets are checked here, before anything runs (:func:`aiida_polyinf.qm.basis.check`): names are put
        in PySCF's spelling (``6-31g(d)`` -> ``6-31g*``), and a basis or ECP that PySCF's library lacks for an element
        of the capped oligomer raises :class:`~aiida_polyinf.qm.basis.BasisError` naming the element, the basis and
        the protocol. The per-element entries (``basis_by_element``, ``ecp_by_element``) are kept for the oligomer's
        elements only.
        """
        from ..qm.basis import check

        protocol = protocol or cls.get_default_protocol()
        inputs = cls.get_protocol_inputs(protocol, overrides)
        parameters = check(inputs['parameters'], polymer_elements(polymer), protocol)
        builder = cls.get_builder()
        builder.polymer = polymer
        builder.protocol = orm.Str(protocol)
        builder.n = orm.Int(inputs['n'])
        builder.num_conformers = orm.Int(inputs['num_conformers'])
        seed = inputs.get('conformer_seed')
        builder.conformer_seed = orm.Int(seed if seed is not None else derive_seed(polymer.smiles, protocol, 0, 'conformer'))
        builder.pyscf.max_iterations = orm.Int(inputs['max_iterations'])
        builder.pyscf.pyscf.code = code
        builder.pyscf.pyscf.parameters = orm.Dict(parameters)
        builder.pyscf.pyscf.metadata.options = merge(inputs['options'], options or {})
        return builder

    def build_conformer(self):
        if 'restart_structure' in self.inputs:
            self.ctx.structure = self.inputs.restart_structure
            self.report(f'restarting from StructureData<{self.ctx.structure.pk}>')
            return None
        if 'structure' in self.inputs:  # the intake stage built it: no conformer search twice
            self.ctx.structure = self.inputs.structure
            return None
        try:
            self.ctx.structure = build_oligomer(
                self.inputs.polymer, self.inputs.n, self.inputs.conformer_seed, self.inputs.num_conformers
            )
        except Exception as exception:  # noqa: BLE001 - an RDKit failure is recorded as the exit code
            return self.exit_codes.ERROR_CONFORMER_FAILED.format(smiles=self.inputs.polymer.smiles, reason=exception)
        return None

    def run_qm(self):
        inputs = AttributeDict(self.exposed_inputs(PyscfBaseWorkChain, 'pyscf'))
        inputs.pyscf.structure = self.ctx.structure
        inputs.metadata.call_link_label = 'pyscf'
        node = self.submit(PyscfBaseWorkChain, **inputs)
        self.report(f'launched PyscfBaseWorkChain<{node.pk}> for {self.inputs.polymer.smiles}')
        return ToContext(workchain=node)

    def inspect_qm(self):
        node = self.ctx.workchain
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_PYSCF.format(
                message=f'{node.process_label}<{node.pk}> exit {node.exit_status}: {node.exit_message}'
            )
        if 'charges' not in node.outputs:
            return self.exit_codes.ERROR_NO_CHARGES
        return None

    def results(self):
        node = self.ctx.workchain
        outputs = qm_descriptors(
            self.inputs.polymer,
            node.outputs.output_parameters,
            node.outputs.output_structure,
            node.outputs.charges,
            self.inputs.protocol,
        )
        self.out('structure', node.outputs.output_structure)
        self.out('output_parameters', node.outputs.output_parameters)
        self.out('descriptors', outputs['descriptors'])
        self.out('charges', outputs['charges'])
