"""``polyinf setup --computer NAME``: the AiiDA computer, its transport configuration and the ``lmp`` and ``pyscf``
codes of a shipped computer, from its files and a user's settings. Running it again changes nothing."""

from __future__ import annotations

import json

from . import EXTRA_RUN_PROFILE, ComputerConfigError, ComputerSpec, RunProfile

COMPUTER_KEYS = {
    'hostname': lambda computer: computer.hostname, 'description': lambda computer: computer.description,
    'transport': lambda computer: computer.transport_type, 'scheduler': lambda computer: computer.scheduler_type,
    'work_dir': lambda computer: computer.get_workdir(),
}


def _differences(computer, spec: dict) -> list[str]:
    found = []
    for key, value_of in COMPUTER_KEYS.items():
        if key in spec and value_of(computer) != spec[key]:
            found.append(f'{key}: {value_of(computer)!r} here, {spec[key]!r} in the files')
    return found


def ensure_computer(spec: ComputerSpec, echo=print):
    """Create (or find) the computer and configure its transport for the current user; returns the computer."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    data = spec.computer
    try:
        computer = orm.Computer.collection.get(label=data['label'])
        differences = _differences(computer, data)
        if differences:
            raise ComputerConfigError(
                f'computer {data["label"]} exists with other settings ({"; ".join(differences)}); '
                f'`verdi computer relabel` or delete it first'
            )
        echo(f'computer  {computer.label}: exists ({computer.transport_type}, {computer.scheduler_type})')
    except NotExistent:
        computer = orm.Computer(
            label=data['label'], hostname=data['hostname'], description=data.get('description', ''),
            transport_type=data['transport'], scheduler_type=data['scheduler'], workdir=data['work_dir'],
        )
        computer.set_shebang(data.get('shebang', '#!/bin/bash'))
        computer.set_mpirun_command(str(data['mpirun_command']).split())
        if data.get('mpiprocs_per_machine'):
            computer.set_default_mpiprocs_per_machine(int(data['mpiprocs_per_machine']))
        if data.get('default_memory_per_machine'):
            computer.set_default_memory_per_machine(int(data['default_memory_per_machine']))
        computer.set_use_double_quotes(bool(data.get('use_double_quotes', False)))
        computer.set_prepend_text(data.get('prepend_text') or '')
        computer.set_append_text(data.get('append_text') or '')
        computer.store()
        echo(f'computer  {computer.label}: created ({computer.transport_type}, {computer.scheduler_type})')
    if computer.is_configured:
        echo(f'transport {computer.label}: configured before ({computer.get_configuration().get("host", "?")})')
    else:
        computer.configure(**spec.transport)
        echo(f'transport {computer.label}: configured (ssh host {spec.transport.get("host")}, '
             f'backend {spec.transport.get("backend")})')
    profile = json.loads(json.dumps(spec.run.as_dict()))  # as stored: tuples come back as lists
    if computer.get_property(EXTRA_RUN_PROFILE, None) != profile:
        computer.set_property(EXTRA_RUN_PROFILE, profile)
        echo(f'profile   {computer.label}: run profile stored (account {spec.run.account or "-"}, '
             f'at most {spec.run.max_queued_jobs} jobs queued)')
    return computer


def ensure_codes(spec: ComputerSpec, computer, echo=print) -> list:
    """Create (or find) the ``lmp`` and ``pyscf`` codes of the computer; an existing code with another executable
    is an error (codes are immutable once used)."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    codes = []
    for label, data in spec.codes.items():
        full = f'{label}@{computer.label}'
        try:
            code = orm.load_code(full)
            if str(code.filepath_executable) != str(data['filepath_executable']):
                raise ComputerConfigError(
                    f'code {full} exists with the executable {code.filepath_executable}, not '
                    f'{data["filepath_executable"]}; label the new one otherwise or delete the old one'
                )
            echo(f'code      {full}: exists ({code.filepath_executable})')
        except NotExistent:
            code = orm.InstalledCode(
                label=label, computer=computer, filepath_executable=str(data['filepath_executable']),
                description=data.get('description', ''), default_calc_job_plugin=data['default_calc_job_plugin'],
                prepend_text=data.get('prepend_text') or '', append_text=data.get('append_text') or '',
                with_mpi=data.get('with_mpi'),
            ).store()
            echo(f'code      {full}: created ({code.filepath_executable})')
        codes.append(code)
    return codes


def setup_computer(name: str, user_file=None, echo=print, user: dict | None = None):
    """``polyinf setup --computer NAME --config FILE`` on the loaded profile (``user``: the settings as a mapping)."""
    from . import load

    spec = load(name, user_file, user)
    computer = ensure_computer(spec, echo)
    ensure_codes(spec, computer, echo)
    return computer


def get_computer(computer_label: str):
    """The computer of this label; an unknown one is named in the error, with how to set one up."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    from . import SHIPPED

    try:
        return orm.Computer.collection.get(label=computer_label)
    except NotExistent:
        raise ComputerConfigError(
            f'no computer {computer_label!r} in this profile; set one up with `polyinf setup --computer NAME --config '
            f'FILE` (NAME: {", ".join(SHIPPED)})'
        ) from None


def run_profile(computer_label: str) -> RunProfile:
    """The run profile stored on a configured computer; an unknown or unprepared computer is named in the error."""
    computer = get_computer(computer_label)
    data = computer.get_property(EXTRA_RUN_PROFILE, None)
    if data is None:
        raise ComputerConfigError(f'computer {computer_label} has no run profile: it was not made by '
                                  '`polyinf setup --computer`')
    return RunProfile.from_dict(data).check()
