"""The shipped remote computers (SQUID, mdx), their run profiles, and a user's settings for them.

Each computer has a folder ``setup/computers/<name>/`` in the repository:

``computer.yaml``      the AiiDA computer (``verdi computer setup`` keys), with ``{{ fields }}`` from the user's file
``transport.yaml``     its transport configuration (``core.ssh_async``, OpenSSH backend: ``ssh $ssh_host``)
``codes.yaml``         the ``lmp`` and ``pyscf`` codes on it
``run.yaml``           the run profile: each stage's nodes, MPI ranks, threads, memory, wall time and queue, the queue
                       limits, the account, the cap on queued jobs
``user.example.yaml``  what a user fills in (user name, group, remote paths, the ssh Host alias), kept outside the repo

``mdx-test`` (this machine as an mdx Slurm cluster, for the tests) uses the mdx-slurm files with its own label, user
values and run profile. This module is pure (YAML and text): loading, filling in, checking; ``computers.configure``
creates the AiiDA nodes, ``computers.doctor`` checks a configured computer, ``computers.watch`` resumes paused jobs.
"""

from __future__ import annotations

import dataclasses
import getpass
import math
import os
import pathlib
import re
import sys

import yaml

#: The repository's setup/computers folder (the package is used from its clone: `make` installs it editable).
FOLDER = pathlib.Path(__file__).resolve().parents[2] / 'setup' / 'computers'
SHIPPED = ('squid', 'mdx-slurm', 'mdx', 'mdx-test')
#: Stages whose jobs a run profile sizes.
JOB_STAGES = ('qm', 'md', 'nemd', 'ions', 'tg')
STAGE_KEYS = ('queue', 'nodes', 'mpi_ranks', 'threads', 'memory_gb', 'walltime_hours')
PLACEHOLDER = re.compile(r'<[^<>]*>')
EXTRA_RUN_PROFILE = 'polyinf_run_profile'
CLOUD_BURSTING = '#PBS --enable-cloud-bursting=yes'


class ComputerConfigError(ValueError):
    """A computer name, user file or run profile that cannot be used; the message names the item and the reason."""


@dataclasses.dataclass
class RunProfile:
    """The resources of each stage's jobs on one computer."""

    computer: str
    scheduler: str
    stages: dict
    queues: dict
    account: str | None = None
    max_queued_jobs: int = 4
    cloud_bursting: bool = False
    cloud_bursting_queues: tuple = ()

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> 'RunProfile':
        return cls(**data)

    def problems(self) -> list[str]:
        """Why a stage's request cannot run in its queue (nodes, cores, memory, wall time above the limits)."""
        found = []
        for stage in JOB_STAGES:
            spec = self.stages.get(stage)
            if spec is None:
                found.append(f'stage {stage}: no resources in the run profile')
                continue
            missing = [key for key in STAGE_KEYS if key not in spec]
            if missing:
                found.append(f'stage {stage}: missing {", ".join(missing)}')
                continue
            queue = spec['queue']
            if queue is None:
                continue
            if self.queues and queue not in self.queues:
                found.append(f'stage {stage}: queue {queue!r} is not one of {", ".join(self.queues)}')
                continue
            limits = self.queues.get(queue, {})
            cores = int(spec['mpi_ranks']) * int(spec['threads'])
            for value, limit, what in (
                (int(spec['nodes']), limits.get('max_nodes'), 'nodes'),
                (cores, limits.get('cores_per_node'), 'cores per node (MPI ranks x threads)'),
                (float(spec['memory_gb']), limits.get('memory_gb_per_node'), 'GB of memory per node'),
                (float(spec['walltime_hours']), limits.get('max_walltime_hours'), 'hours of wall time'),
            ):
                if limit is not None and value > float(limit):
                    found.append(f'stage {stage}: {value:g} {what} > {float(limit):g}, the limit of queue {queue}')
        return found

    def check(self) -> 'RunProfile':
        problems = self.problems()
        if problems:
            raise ComputerConfigError(f'run profile of {self.computer}: ' + '; '.join(problems))
        return self

    def options(self, stage: str) -> dict:
        """``metadata.options`` of a stage's jobs."""
        spec = self.stages[stage]
        nodes, ranks, threads = int(spec['nodes']), int(spec['mpi_ranks']), int(spec['threads'])
        seconds = int(round(float(spec['walltime_hours']) * 3600))
        resources = {'num_machines': nodes, 'num_mpiprocs_per_machine': ranks}
        if threads > 1:
            resources['num_cores_per_mpiproc'] = threads
        options = {
            'resources': resources,
            'max_wallclock_seconds': seconds,
            'withmpi': nodes > 1 or ranks > 1,
        }
        if spec['queue']:
            options['queue_name'] = spec['queue']
        if self.account:
            options['account'] = self.account
        if self.scheduler != 'core.direct' and spec.get('memory_gb'):  # core.direct would impose it with ulimit -v
            options['max_memory_kb'] = int(float(spec['memory_gb']) * 1024 * 1024)
        if (self.cloud_bursting and self.scheduler == 'polyinf.nqsv' and spec['queue'] in self.cloud_bursting_queues
                and nodes == 1 and seconds <= 3600):
            options['custom_scheduler_commands'] = CLOUD_BURSTING
        return options

    def overrides(self) -> dict:
        """Protocol overrides of ``PolymerPropertiesWorkChain`` that put every stage's jobs on this computer's sizes:
        the job options, the QM driver's threads and memory, the LAMMPS OpenMP threads."""
        result = {}
        for stage in JOB_STAGES:
            spec = self.stages[stage]
            result[stage] = {'options': self.options(stage)}
            threads = int(spec['threads'])
            if stage == 'qm':
                memory_mb = int(float(spec['memory_gb']) * 1000 * 0.9)  # the driver's budget, below the job's limit
                result[stage]['parameters'] = {'resources': {'num_threads': threads, 'max_memory_mb': memory_mb}}
            else:
                result[stage]['settings'] = {'omp_threads': threads}
        return result

    @property
    def max_active_chains(self) -> int:
        """Polymers in flight so that at most ``max_queued_jobs`` jobs are queued: a chain has up to three cell-stage
        jobs at once."""
        return max(1, math.floor(int(self.max_queued_jobs) / 3))


@dataclasses.dataclass
class ComputerSpec:
    """A shipped computer filled in with a user's values."""

    name: str
    computer: dict
    transport: dict
    codes: dict
    run: RunProfile


def shipped() -> tuple[str, ...]:
    return SHIPPED


def _read(path: pathlib.Path) -> str:
    if not path.is_file():
        raise ComputerConfigError(f'{path} is missing: `polyinf setup --computer` reads the repository\'s setup/ folder')
    return path.read_text(encoding='utf-8')


FIELD = re.compile(r'\{\{\s*(\w+)\s*\}\}')


def _fill(text: str, values: dict, where: str) -> dict:
    """``text`` (YAML) with every ``{{ key }}`` replaced by the user's value, then parsed."""
    missing = sorted({key for key in FIELD.findall(text) if key not in values})
    if missing:
        raise ComputerConfigError(f'{where} needs {", ".join(f"`{key}`" for key in missing)} in your user file')
    filled = FIELD.sub(lambda match: '' if values[match.group(1)] is None else str(values[match.group(1)]), text)
    return yaml.safe_load(filled) or {}


def read_user_file(path) -> dict:
    """A user's settings file: a YAML mapping; any ``<...>`` placeholder left in it is refused, named."""
    path = pathlib.Path(path).expanduser()
    if not path.is_file():
        raise ComputerConfigError(f'no user file {path}')
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8'))
    except yaml.YAMLError as error:
        raise ComputerConfigError(f'{path} is not valid YAML: {error}') from None
    if not isinstance(data, dict):
        raise ComputerConfigError(f'{path} must be a mapping of keys to values (see setup/computers/*/user.example.yaml)')
    return data


def placeholders(values: dict) -> list[str]:
    """The keys whose values still hold a ``<...>`` placeholder."""
    return sorted(key for key, value in values.items() if isinstance(value, str) and PLACEHOLDER.search(value))


def _local_values() -> dict:
    """What ``{{ nproc }}``, ``{{ login }}`` and ``{{ venv }}`` mean for the local test computer."""
    return {'nproc': os.cpu_count() or 1, 'login': getpass.getuser(), 'venv': str(pathlib.Path(sys.executable).parent.parent)}


def load(name: str, user_file=None, user: dict | None = None) -> ComputerSpec:
    """The computer ``name`` (one of :data:`SHIPPED`) filled in from the user's file (or ``user``, a mapping)."""
    if name not in SHIPPED:
        raise ComputerConfigError(f'unknown computer {name!r}; the shipped computers are {", ".join(SHIPPED)}')
    folder = FOLDER / name
    files, label = folder, name
    values: dict = {}
    text = _read(folder / 'computer.yaml')
    if re.search(r'^files:', text, re.MULTILINE):  # mdx-test: another computer's files, its own label and user values
        head = _fill(text, _local_values(), f'{name}/computer.yaml')
        files, label = FOLDER / head['files'], head.get('label', name)
        values = dict(head.get('user', {}))
    if user_file is not None:
        values.update(read_user_file(user_file))
    if user is not None:
        values.update(user)
    if not values:
        raise ComputerConfigError(
            f'computer {name} needs your settings: copy setup/computers/{name}/user.example.yaml outside the '
            'repository, fill it in and pass it with --config'
        )
    left = placeholders(values)
    if left:
        raise ComputerConfigError(
            f'{user_file or "the user settings"}: placeholders left in {", ".join(left)} '
            f'(fill in every <...> of setup/computers/{name}/user.example.yaml)'
        )
    texts = {what: _read((folder if what == 'run' else files) / f'{what}.yaml')
             for what in ('computer', 'transport', 'codes', 'run')}
    missing = sorted({key for text in texts.values() for key in FIELD.findall(text)} - set(values))
    if missing:
        raise ComputerConfigError(f'{user_file or "the user settings"}: computer {name} needs '
                                  f'{", ".join(f"`{key}`" for key in missing)} (see setup/computers/{name}/user.example.yaml)')
    computer = _fill(texts['computer'], values, f'{files.name}/computer.yaml')
    computer.pop('files', None)
    computer['label'] = label
    transport = _fill(texts['transport'], values, f'{files.name}/transport.yaml')
    codes = _fill(texts['codes'], values, f'{files.name}/codes.yaml')
    run = _fill(texts['run'], values, f'{name}/run.yaml')
    profile = RunProfile(
        computer=label, scheduler=computer['scheduler'], stages=run.get('stages', {}), queues=run.get('queues') or {},
        account=run.get('account') or None, max_queued_jobs=int(run.get('max_queued_jobs', 4)),
        cloud_bursting=bool(run.get('cloud_bursting', False)),
        cloud_bursting_queues=tuple(run.get('cloud_bursting_queues') or ()),
    )
    return ComputerSpec(name=name, computer=computer, transport=transport, codes=codes, run=profile.check())
