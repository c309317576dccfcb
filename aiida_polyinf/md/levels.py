"""MD protocols as plain, YAML-friendly dicts: ``moderate`` = RadonPy's numbers, ``fast`` = scaled for tests/demos.

``moderate`` is RadonPy's default workflow (``radonpy_default`` / ``preset.eq``): 10 chains of about 1,000 atoms,
initial density 0.05 g/cm^3, packing (20,000 steps at 0.1 fs, 1,000,000 heating and 1,000,000 compression steps at
1 fs to 0.8 g/cm^3), Larsen's 21 steps (max 600 K, max 50,000 atm, RadonPy's step list and pressure ratios), 5 ns NPT
sampling at 300 K and 1 atm, up to 4 additional 5 ns rounds until ``check_eq`` passes, analysis windows of 2,000
thermo rows (init 2,000, width 2,000), thermo/dump every 1,000 steps, restarts every 10,000 steps.

``fast`` keeps every stage, temperature, pressure and force-field setting and shrinks the system and the step counts
so that the whole run (packing + 21 steps + sampling) takes a few minutes on 2 idle cores (48 min for PE at load 8-33).

Run LAMMPS as ONE rank with ONE OpenMP thread on a shared machine: 2 threads on 2 busy cores measured 4-18
katom-step/s, 1 thread 66-95; ``benchmarks/md_overhead.json`` (``parallel``) has 1 rank x 1 thread fastest, then 2 MPI
ranks (``mpiexec -np 2``, 0.28-0.42x its speed), then 2 OpenMP threads (0.11-0.14x), at load 5-7 and at load 31-36.
With the kernel's autogroup scheduling a session gets one share of the CPU however many threads it has, and each
CalcJob is a session of its own under ``core.direct``: use the cores with several CalcJobs (trials, polymers) at once.

- 4 chains of about 100 atoms (PE: 16 units) instead of 10 x 1,000: ~400 atoms, 1/25 of the atoms;
- packing 1,000 / 5,000 / 5,000 steps instead of 20,000 / 1,000,000 / 1,000,000 (1/200 for heating and compression);
- the 21-step step list divided by 100, each segment at least 100 steps (1,560,000 -> 15,900 steps);
- sampling 10,000 steps (10 ps) instead of 5,000,000; one additional round of 10,000;
- thermo every 50 steps (so the analysis still has 200 rows), dump every 250; analysis init = 40 % of the rows and
  width = the rest, as RadonPy's 2,000 / 5,000 rows;
- PPPM accuracy 1e-5 instead of 1e-6 (cheaper for a small, short run);
- restarts every 5,000 steps.

The properties of a ``fast`` run are not converged (20 ps, ~400 atoms): they test the machinery, not the physics.
``benchmarks/md_vs_radonpy.py`` compares its density with PI1070 for PE and PS (``benchmarks/md_vs_radonpy.json``).

Optional key ``charge_model``: ``resp`` (default, the QM stage's RESP charges) or ``gasteiger`` (RadonPy's Gasteiger
charges; the QM charges are then not read), e.g. ``MdWorkChain.get_builder_from_protocol(..., overrides={'parameters':
{'charge_model': 'gasteiger'}})``.

``moderate`` for one polymer is ``polyinf run FILE --protocol moderate``; its cost on a 2-core machine is in
``benchmarks/md_vs_radonpy.json`` (``moderate_cost``) and the README.
"""

from __future__ import annotations

import copy

RADONPY_STEP_LIST = [
    [50000, 50000, 50000],
    [50000, 100000, 50000],
    [50000, 100000, 50000],
    [50000, 100000, 5000],
    [5000, 10000, 5000],
    [5000, 10000, 5000],
    [5000, 10000, 800000],
]
RADONPY_PRESS_RATIO = [0.02, 0.60, 1.00, 0.50, 0.10, 0.01]

#: RadonPy's check_eq criteria (Equilibration_analyze): relative SD of the simple moving average, or absolute (vdW).
CHECK_EQ = {
    'totene_sma_sd_crit': 0.0005,
    'kinene_sma_sd_crit': 0.0005,
    'ebond_sma_sd_crit': 0.001,
    'eangle_sma_sd_crit': 0.001,
    'edihed_sma_sd_crit': 0.002,
    'evdw_sma_sd_crit': 30.0,
    'ecoul_sma_sd_crit': None,
    'elong_sma_sd_crit': 0.001,
    'dens_sma_sd_crit': 0.001,
    'rg_sd_crit': 0.01,
}

MODERATE = {
    'name': 'moderate',
    'temp': 300.0,
    'press': 1.0,
    'dt': 1.0,
    'cell': {
        'n_chains': 10,
        'atoms_per_chain': 1000,
        'initial_density': 0.05,
        'tacticity': 'atactic',
        'terminator': 'CH3',
    },
    'ff': {'cutoff_in': 8.0, 'cutoff_out': 12.0, 'kspace_accuracy': '1e-6'},
    'packing': {
        'min_maxiter': 10000,
        'relax_steps': 20000,
        'heat_steps': 1000000,
        'compress_steps': 1000000,
        'max_temp': 700.0,
        'f_density': 0.8,
    },
    'eq21': {
        'max_temp': 600.0,
        'max_press': 50000.0,
        'step_list': RADONPY_STEP_LIST,
        'press_ratio': RADONPY_PRESS_RATIO,
    },
    'sampling': {'steps': 5000000},
    'additional': {'steps': 5000000, 'max_rounds': 4},
    'thermo_every': 1000,
    'dump_every': 1000,
    'restart_every': 10000,
    'analysis': {'init': 2000, 'width': 2000, 'f_width': 2000},  # in thermo rows, as RadonPy
    'check_eq': dict(CHECK_EQ),
}


def _scaled_step_list(divisor: int, minimum: int = 100) -> list[list[int]]:
    return [[max(minimum, n // divisor) for n in row] for row in RADONPY_STEP_LIST]


FAST = copy.deepcopy(MODERATE)
FAST.update(
    {
        'name': 'fast',
        'cell': {**MODERATE['cell'], 'n_chains': 4, 'atoms_per_chain': 100},
        'ff': {**MODERATE['ff'], 'kspace_accuracy': '1e-5'},
        'packing': {**MODERATE['packing'], 'min_maxiter': 1000, 'relax_steps': 1000, 'heat_steps': 5000,
                    'compress_steps': 5000},
        'eq21': {**MODERATE['eq21'], 'step_list': _scaled_step_list(100)},
        'sampling': {'steps': 10000},
        'additional': {'steps': 10000, 'max_rounds': 1},
        'thermo_every': 50,
        'dump_every': 250,
        'restart_every': 5000,
        'analysis': {'init_fraction': 0.4, 'width_fraction': 0.6, 'f_width_fraction': 0.4},
    }
)

PROTOCOLS = {'fast': FAST, 'moderate': MODERATE}


def merge_into(base: dict, extra: dict | None) -> None:
    """Merge ``extra`` into ``base`` in place, nested dicts key by key (values deep-copied)."""
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_into(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def pick_protocol(protocols: dict, name: str, overrides: dict | None = None, kind: str = 'MD') -> dict:
    """A deep copy of ``protocols[name]`` with ``overrides`` merged in (shared by the MD, NEMD and ion protocols)."""
    if name not in protocols:
        raise KeyError(f'unknown {kind} protocol {name!r}; known: {sorted(protocols)}')
    out = copy.deepcopy(protocols[name])
    merge_into(out, overrides)
    return out


def get_protocol(name: str, overrides: dict | None = None) -> dict:
    """A deep copy of a protocol, with ``overrides`` merged in (nested dicts merged key by key)."""
    return pick_protocol(PROTOCOLS, name, overrides, 'MD')
