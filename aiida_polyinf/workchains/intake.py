"""``IntakeWorkChain``: the first stage, from a registered polymer to its capped 3D oligomer."""

from __future__ import annotations

from aiida import orm
from aiida.engine import WorkChain

from ..calculations.intake import build_oligomer
from ..data.polymer import PolymerData


class IntakeWorkChain(WorkChain):
    """Build the CH3-capped n-mer structure of a polymer (default n=1, the capped monomer used for QM): the lowest
    in MMFF energy of ``num_conformers`` ETKDG conformers, the start geometry of the QM stage."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('polymer', valid_type=PolymerData, help='The polymer.')
        spec.input('n', valid_type=orm.Int, default=lambda: orm.Int(1), help='Number of repeat units.')
        spec.input('seed', valid_type=orm.Int, help='Seed of the conformer embedding (derive_seed, stage `conformer`).')
        spec.input('num_conformers', valid_type=orm.Int, required=False,
                   help='Conformers to embed and relax; the lowest in MMFF energy is kept (omitted: one).')
        spec.outline(cls.build)
        spec.output('structure', valid_type=orm.StructureData, help='The capped oligomer in 3D.')
        spec.exit_code(
            310, 'ERROR_CONFORMER_FAILED', message='no 3D conformer could be built for {smiles}: {reason}'
        )

    def build(self):
        try:
            extra = {'num_conformers': self.inputs.num_conformers} if 'num_conformers' in self.inputs else {}
            structure = build_oligomer(self.inputs.polymer, self.inputs.n, self.inputs.seed, **extra)
        except Exception as exception:  # noqa: BLE001 - any RDKit failure is recorded as the exit code
            return self.exit_codes.ERROR_CONFORMER_FAILED.format(smiles=self.inputs.polymer.smiles, reason=exception)
        self.out('structure', structure)
