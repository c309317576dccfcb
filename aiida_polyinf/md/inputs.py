"""LAMMPS input scripts for RadonPy's equilibration protocol, written here (no RadonPy process launching).

The four stages follow ``radonpy/sim/preset/eq.py`` (``Equilibration.packing``, ``eq21step``, ``sampling``, and
``Additional`` = one more sampling round) with RadonPy's force-field settings (``radonpy.sim.md.MD`` defaults: real
units, atom_style full, ``lj/charmm/coul/long 8 12`` + ``pppm 1e-6``, ``special_bonds amber``, ``mix arithmetic``,
harmonic bonds and angles, fourier dihedrals, cvff impropers, SHAKE on X-H bonds by mass 1.0, Nose-Hoover with
``Tdamp 100 fs`` and ``Pdamp 1000 fs``, ``nreset 1000``); step counts and the time step come from the protocol
(``aiida_polyinf/protocols/md.yaml``), so ``moderate`` is RadonPy's protocol and ``fast`` a scaled copy.

Every stage is one input file that reads one data file and writes, in its working directory:

- ``<stage>.log`` (``log`` command) with thermo output every ``thermo_every`` steps, columns ``THERMO`` (+ the
  sampling extras: ``v_msd`` and the total dipole ``c_dip[1..3]``);
- restart files ``<stage>.restart.<step>`` every ``restart_every`` steps (LAMMPS' ``restart N file.*``);
- on success ``<stage>.data`` (``write_data``, the next stage's input) and the line ``POLYINF_STAGE_COMPLETE``;
- sampling stages also ``<stage>.dump`` (``id mol xu yu zu``, sorted, every ``dump_every`` steps).

Segments are run with ``run N upto`` on one cumulative time-step counter, so a stage can be continued from any
restart file: ``render_stage(..., restart=RestartPoint(file, step))`` reads the restart and runs only what is left
(``dt_scale`` < 1 shrinks the time step after a crash; step counts are kept). With ``timeout`` (``timer timeout``, for
wall-time limits on ``core.direct``) an interrupted stage writes ``<stage>.restart.timeout``, prints
``POLYINF_TIMEOUT`` and exits with status 3 instead of writing a final data file that is not final.
"""

from __future__ import annotations

import dataclasses

#: thermo columns, RadonPy's ``MD.thermo_style`` (log headings: Step Time Temp Press Enthalpy TotEng KinEng PotEng
#: E_bond E_angle E_dihed E_impro E_vdwl E_coul E_long E_tail Volume Lx Ly Lz Density Pxx Pyy Pzz Pxy Pxz Pyz).
THERMO = ('step', 'time', 'temp', 'press', 'enthalpy', 'etotal', 'ke', 'pe', 'ebond', 'eangle', 'edihed', 'eimp',
          'evdwl', 'ecoul', 'elong', 'etail', 'vol', 'lx', 'ly', 'lz', 'density', 'pxx', 'pyy', 'pzz', 'pxy', 'pxz',
          'pyz')
SAMPLING_EXTRA = ('v_msd', 'c_dip[1]', 'c_dip[2]', 'c_dip[3]')
STAGES = ('packing', 'eq21', 'sampling')  # then additional_1, additional_2, ...
COMPLETE_MARK = 'POLYINF_STAGE_COMPLETE'
TIMEOUT_MARK = 'POLYINF_TIMEOUT'
TIMEOUT_EXIT_CODE = 3


@dataclasses.dataclass(frozen=True)
class Segment:
    """One ``run``: ensemble, steps, time step (fs), temperatures (K), pressures (atm), SHAKE, extras."""

    ensemble: str  # 'min', 'nvt' or 'npt'
    steps: int
    dt: float = 1.0
    t_start: float = 300.0
    t_stop: float = 300.0
    p_start: float = 1.0
    p_stop: float = 1.0
    shake: bool = True
    deform_density: float | None = None  # fix deform to this density (g/cm^3) over the segment (packing)
    neigh_check: str | None = None  # 'yes'/'no': RadonPy's neigh_modify per 21-step segment


@dataclasses.dataclass(frozen=True)
class RestartPoint:
    """Continue a stage from ``file`` (a LAMMPS restart written at time step ``step``)."""

    file: str
    step: int
    dt_scale: float = 1.0


# ----------------------------------------------------------------------------------------------------- the stages
def packing_segments(p: dict) -> list[Segment]:
    """RadonPy ``packing``: minimise; NVT 300 K at 0.1 fs without SHAKE; heat 300 -> max_temp; NVT at max_temp while
    deforming the box to ``f_density``."""
    s = p['packing']
    return [
        Segment('min', s['min_maxiter']),
        Segment('nvt', s['relax_steps'], dt=0.1 * p['dt'], shake=False),
        Segment('nvt', s['heat_steps'], dt=p['dt'], t_start=300.0, t_stop=s['max_temp']),
        Segment('nvt', s['compress_steps'], dt=p['dt'], t_start=s['max_temp'], t_stop=s['max_temp'],
                deform_density=s['f_density']),
    ]


def eq21_segments(p: dict) -> list[Segment]:
    """RadonPy ``eq21step`` (Larsen's 21 steps): 7 x (NVT max_temp, NVT temp, NPT temp at the pressure schedule)."""
    s = p['eq21']
    pressures = [r * s['max_press'] for r in s['press_ratio']] + [p['press']]
    out = []
    for (n1, n2, n3), press in zip(s['step_list'], pressures):
        out.append(Segment('nvt', n1, p['dt'], s['max_temp'], s['max_temp'], neigh_check='yes'))
        out.append(Segment('nvt', n2, p['dt'], p['temp'], p['temp']))
        out.append(Segment('npt', n3, p['dt'], p['temp'], p['temp'], press, press, neigh_check='no'))
    return out


def sampling_segments(p: dict, steps: int | None = None) -> list[Segment]:
    """RadonPy ``sampling`` (and ``Additional``): NPT at temp and press."""
    return [Segment('npt', steps or p['sampling']['steps'], p['dt'], p['temp'], p['temp'], p['press'], p['press'])]


def stage_segments(stage: str, protocol: dict) -> list[Segment]:
    if stage == 'packing':
        return packing_segments(protocol)
    if stage == 'eq21':
        return eq21_segments(protocol)
    if stage == 'sampling':
        return sampling_segments(protocol)
    if stage.startswith('additional'):
        return sampling_segments(protocol, protocol['additional']['steps'])
    raise ValueError(f'unknown stage {stage!r}')


def stage_total_steps(stage: str, protocol: dict) -> int:
    """MD steps of a stage (minimisation not counted)."""
    return sum(s.steps for s in stage_segments(stage, protocol) if s.ensemble != 'min')


# ----------------------------------------------------------------------------------------------------- rendering
def _header(stage: str, p: dict, restart: RestartPoint | None, data_file: str) -> list[str]:
    ff = p['ff']
    packing = stage == 'packing'
    lines = [
        f'# aiida-polyinf: stage {stage}{" continued from " + restart.file if restart else ""}',
        f'log {stage}.log append' if restart else f'log {stage}.log',
        'units real',
        'atom_style full',
        'boundary p p p',
    ]
    if packing:  # RadonPy packing: short-range LJ only, no Coulomb
        lines += ['pair_style lj/cut 3.0']
    else:
        lines += [f'pair_style lj/charmm/coul/long {ff["cutoff_in"]} {ff["cutoff_out"]}']
    lines += [
        'bond_style harmonic',
        'angle_style harmonic',
        'dihedral_style fourier',
        'improper_style cvff',
        'special_bonds amber',
        'pair_modify mix arithmetic',
        'neighbor 2.0 bin',
        'neigh_modify delay 0 every 1 check yes',
    ]
    if restart:
        lines.append(f'read_restart {restart.file}')  # styles and coefficients come from the restart file
    else:
        lines.append(f'read_data {data_file}')
    if not packing:
        lines.append(f'kspace_style pppm {ff["kspace_accuracy"]}')
    lines.append('dielectric 1.0')
    if packing:
        lines.append('comm_modify cutoff 8.0')
    return lines


def _thermo(extra: tuple[str, ...] = ()) -> list[str]:
    cols = list(THERMO) + list(extra)
    return [f'thermo_style custom {" ".join(cols)}', 'thermo_modify flush yes']


def _is_sampling(stage: str) -> bool:
    return stage == 'sampling' or stage.startswith('additional')


def render_segments(
    stage: str, p: dict, segments: list[Segment], *, data_file: str, seed: int, timeout: str | None = None,
    restart: RestartPoint | None = None, read_data_extra: str = '', after_read: list[str] = (),
    before_thermo: list[str] = (), after_minimisation: list[str] = (), thermo_extra: tuple[str, ...] = (),
    velocity_temp: float | None = None,
) -> str:
    """The LAMMPS input of a stage made of ``segments`` on one cumulative time-step counter (shared by the MD, ion
    and Tg stages): header, thermo, timeout, restart files, the segments with ``run N upto``, and the end (the
    timeout check, ``write_data <stage>.data`` and the completion mark).

    Args:
        read_data_extra: appended to the ``read_data`` line (e.g. `` extra/atom/types 2``); not on a restart.
        after_read: commands after reading the data file (not on a restart).
        before_thermo: computes, fixes and dumps that the thermo output names.
        after_minimisation: commands placed before the first MD segment that runs (after the minimisation).
        thermo_extra: thermo columns after ``THERMO``.
        velocity_temp: ``velocity all create`` at this temperature with ``seed`` at the start (not on a restart).
    """
    out = _header(stage, p, restart, data_file)
    if not restart:
        at = next(i for i, line in enumerate(out) if line.startswith('read_data'))
        out[at] += read_data_extra
        out += list(after_read)
    deferred = list(after_minimisation)
    out += list(before_thermo)
    out += _thermo(thermo_extra) + [f'thermo {p["thermo_every"]}']
    if timeout:
        out.append(f'timer timeout {timeout} every 10')
    out.append(f'restart {p["restart_every"]} {stage}.restart.*')
    dt_scale = restart.dt_scale if restart else 1.0
    start_step = restart.step if restart else 0
    if not restart and velocity_temp is not None:
        out.append(f'velocity all create {velocity_temp:f} {seed} mom yes rot yes dist gaussian')

    cumulative = 0
    for i, seg in enumerate(segments, start=1):
        if seg.ensemble == 'min':
            if restart:
                continue
            out += ['', 'min_style cg', f'minimize 1.0e-4 1.0e-6 {seg.steps} {seg.steps * 10}', 'reset_timestep 0']
            continue
        begin, end = cumulative, cumulative + seg.steps
        cumulative = end
        if end <= start_step:
            continue
        out += deferred
        deferred = []
        out.append('')
        out.append(f'# segment {i}: {seg.ensemble} {seg.steps} steps, steps {begin}-{end}')
        out.append(f'timestep {seg.dt * dt_scale:g}')
        if seg.neigh_check:
            out.append(f'neigh_modify delay 0 every 1 check {seg.neigh_check}')
        unfix = []
        if seg.shake:
            out.append(f'fix shake{i} all shake 1e-4 1000 0 m 1.0')
            unfix.append(f'unfix shake{i}')
        if seg.deform_density:
            # RadonPy: f_length = cbrt(mass / NA / f_density) / 2, box from -f_length to +f_length
            out.append(f'variable flen{i} equal (mass(all)/6.02214076e23/{seg.deform_density}*1.0e24)^(1.0/3.0)/2.0')
            out.append(
                f'fix DEF{i} all deform 1 x final -${{flen{i}}} ${{flen{i}}} y final -${{flen{i}}} ${{flen{i}}} '
                f'z final -${{flen{i}}} ${{flen{i}}} remap v'
            )
            unfix.append(f'unfix DEF{i}')
        t_start = seg.t_start
        if restart and begin < start_step:  # resume a ramp where it was
            t_start = seg.t_start + (seg.t_stop - seg.t_start) * (start_step - begin) / seg.steps
        if seg.ensemble == 'nvt':
            out.append(f'fix md{i} all nvt temp {t_start:f} {seg.t_stop:f} 100.0')
        else:
            out.append(
                f'fix md{i} all npt temp {t_start:f} {seg.t_stop:f} 100.0 iso {seg.p_start:f} {seg.p_stop:f} 1000.0 '
                f'nreset 1000'
            )
        out.append(f'run {end} upto')
        out.append(f'unfix md{i}')
        out += unfix
    out += [
        '',
        f'if "$(step) < {cumulative}" then "write_restart {stage}.restart.timeout" '
        f'"print \'{TIMEOUT_MARK} step $(step) of {cumulative}\'" "quit {TIMEOUT_EXIT_CODE}"',
        f'write_data {stage}.data',
        f'print "{COMPLETE_MARK} {stage} step $(step)"',
    ]
    return '\n'.join(out) + '\n'


def render_stage(stage: str, protocol: dict, *, data_file: str = 'input.data', seed: int,
                 timeout: str | None = None, restart: RestartPoint | None = None) -> str:
    """The LAMMPS input of one MD stage: ``packing``, ``eq21``, ``sampling`` or ``additional_<k>`` (the property
    stages render themselves: :mod:`aiida_polyinf.md.nemd`, :mod:`~aiida_polyinf.md.ions`, :mod:`~aiida_polyinf.md.tg`).

    Args:
        data_file: the data file to read (the previous stage's ``<stage>.data``, or the cell's ``cell.data``).
        seed: the velocity seed (``velocity create`` of eq21), the trial's seed.
        timeout: ``timer timeout`` value, ``HH:MM:SS`` (or seconds), for the wall-time limit.
        restart: continue from a restart file instead of starting from ``data_file``.
    """
    p = protocol
    before_thermo = []
    if _is_sampling(stage):  # computes and variables before the thermo_style that names them
        before_thermo = [
            'compute dip all dipole',
            'compute msd all msd com yes average no',
            f'fix msd all ave/time 1 {p["thermo_every"]} {p["thermo_every"]} c_msd[4] mode scalar',
            'variable msd equal f_msd',
            f'dump traj all custom {p["dump_every"]} {stage}.dump id mol xu yu zu',
            'dump_modify traj sort id' + (' append yes' if restart else ''),
        ]
    return render_segments(
        stage, p, stage_segments(stage, p), data_file=data_file, seed=seed, timeout=timeout, restart=restart,
        before_thermo=before_thermo, thermo_extra=SAMPLING_EXTRA if _is_sampling(stage) else (),
        velocity_temp=p['eq21']['max_temp'] if stage == 'eq21' else None,  # RadonPy: set_init_velocity=max_temp
    )


def render(stage: str, protocol: dict, *, data_file: str, seed: int, timeout=None, restart=None,
           data_text: str | None = None) -> str:
    """The LAMMPS-stage interface the CalcJob calls (every module named in the stage registry's ``lammps_stages``
    has it, with ``files``): here the MD stages."""
    return render_stage(stage, protocol, data_file=data_file, seed=seed, timeout=timeout, restart=restart)


def files(stage: str) -> dict[str, str]:
    """What an MD stage reads and writes: :func:`stage_files` and, for a sampling stage, its trajectory ``dump``."""
    names = stage_files(stage)
    if _is_sampling(stage):
        names['dump'] = f'{stage}.dump'
    return names


def stage_files(stage: str) -> dict[str, str]:
    """What every LAMMPS stage reads and writes (glob patterns for the restart files), for the CalcJob's retrieve list;
    a stage's ``files`` adds its own (``dump``: retrieved for the parser only; ``profile``: the NEMD profile)."""
    files = {
        'input': f'{stage}.in',
        'log': f'{stage}.log',
        'data_out': f'{stage}.data',
        'restart_glob': f'{stage}.restart.*',
        'restart_timeout': f'{stage}.restart.timeout',
    }
    return files


def write_stage(directory: str, stage: str, protocol: dict, **kwargs) -> str:
    """Write ``<stage>.in`` into ``directory``; returns its path."""
    import os

    path = os.path.join(directory, f'{stage}.in')
    with open(path, 'w') as handle:
        handle.write(render_stage(stage, protocol, **kwargs))
    return path


def next_data_file(stage: str) -> str:
    """The data file a stage writes (the next stage's ``data_file``)."""
    return f'{stage}.data'
