"""AiiDA scheduler plugin ``polyinf.nqsv`` for NEC NQSV, the batch system of SQUID (Osaka University, D3 Center).

NQSV takes PBS-style ``#PBS`` directives, so the plugin subclasses aiida-core's ``PbsBaseClass`` and changes what
differs from PBS Pro:

* resources: ``-b N`` (number of nodes, NQSV's "jobs" of a request), ``-l cpunum_job=N`` (cores per node),
  ``-l memsz_job=NGB`` (memory per node), ``-l gpunum_job=N`` (GPUs per node, from the extra resource key
  ``num_gpus_per_machine``), ``-l elapstim_req=HH:MM:SS`` (wall time);
* ``--group=<group>`` instead of ``-A``: the SQUID accounting group, from ``metadata.options.account``;
* ``-T intmpi`` when the job runs an MPI launcher (``mpirun ${NQSV_MPIOPTS}`` on SQUID) or spans several nodes;
  another MPI type (``-T openmpi``) can be given in ``custom_scheduler_commands``, which then replaces it;
* ``-j o`` joins stderr into stdout (NQSV's spelling of PBS's ``-j oe``); no ``-m n`` (mail is off unless asked);
* ``qsub`` prints ``Request 12345.sqd submitted to queue: SQUID.``: the job id kept is the request's sequence number
  (``12345``), because ``qstat`` truncates the RequestID column to 15 characters (host part included) and ``qdel``
  accepts the bare number;
* ``qstat`` (no option) prints one line per request of the current user in a fixed table (below), not PBS Pro's
  ``qstat -f`` stanzas; states are three-letter codes (``STT``).

Where the formats come from (nothing here was captured by us on SQUID; we have no account there):

* directives: SQUID's batch manual (https://www.hpc.cmc.osaka-u.ac.jp/en/system/manual/batch/: ``#PBS -l
  elapstim_req=5:30:00,memsz_job=10GB``) and job scripts published by SQUID users (``#PBS -q SQUID``, ``#PBS
  --group=``, ``-l cpunum_job=76``, ``#PBS -T intmpi``, ``mpirun ${NQSV_MPIOPTS} -np ...``); ``-l gpunum_job=`` and
  ``-b`` from job scripts of other NQSV sites;
* the ``qstat`` table: published by SQUID users (a tutorial's capture from SQUID: ``640170.sqd calc u6b878 DBG-C 0
  RUN - 11.08M 0.15 1 Y Y Y 1``) and by other NQSV sites (Kiel's NEC cluster, the Nextflow NQSII executor's test
  table, which lists the states PRR RUN STG CHK EXT POR ARI FWD MIG QUE WAT GQD SUS HLD HOL); which states count as
  queued, held or running follows the Nextflow and PSI/J NQSV executors (NEC's own "NQSV User's Guide [Operation]"
  could not be read in full here);
* the ``qsub`` line: the same Nextflow tests (``Request 143993.ace-ssiox submitted to queue: clexpress.``) and a
  published session log of another NQSV site (``Request 390879.nqsv submitted to queue: debug.``).

The fixtures in ``tests/fixtures/nqsv/`` are therefore RECONSTRUCTED from those published samples (column layout,
widths and states copied from them, request ids, names and users ours), not captured on SQUID. Check them against a
real ``qstat`` on first use; the parser is written to be tolerant: whitespace split, read from both ends, an unknown
state or an unexpected line gives ``UNDETERMINED`` with a warning (never a dropped request, which AiiDA would take
for a finished job).

Sample ``qstat`` output (columns: RequestID ReqName UserName Queue Pri STT S Memory CPU Elapse R H M Jobs)::

    RequestID       ReqName  UserName Queue     Pri STT S   Memory      CPU   Elapse R H M Jobs
    --------------- -------- -------- -------- ---- --- - -------- -------- -------- - - - ----
    640170.sqd      calc     u6b878   DBG-C       0 RUN -   11.08M     0.15        1 Y Y Y    1
"""

from __future__ import annotations

import logging
import math
import re
import string

from aiida.common.escaping import escape_for_bash
from aiida.schedulers import SchedulerError
from aiida.schedulers.datastructures import JobInfo, JobState, JobTemplate
from aiida.schedulers.plugins.pbsbaseclasses import PbsBaseClass, PbsJobResource

__all__ = ('NqsvJobResource', 'NqsvScheduler', 'NQSV_STATES')

_LOGGER = logging.getLogger(__name__)

#: NQSV request states (``STT`` column of ``qstat``) -> AiiDA job states. The codes are those seen in published NQSV
#: output and NQSV tools (see the module docstring); the glosses are our reading of them, not NEC's wording.
NQSV_STATES = {
    'ARI': JobState.QUEUED,  # arriving: being transferred into this batch server
    'ARR': JobState.QUEUED,  # arriving (spelling accepted by another NQSV site's tooling)
    'FWD': JobState.QUEUED,  # forwarding to another queue / server
    'TRS': JobState.QUEUED,  # transferring
    'MIG': JobState.QUEUED,  # migrating between execution hosts
    'QUE': JobState.QUEUED,  # queued, eligible to run
    'GQD': JobState.QUEUED,  # queued in a global queue (waiting for the JobManipulator to assign hosts)
    'WAT': JobState.QUEUED,  # waiting for its start time or a dependency
    'WAI': JobState.QUEUED,  # waiting (spelling accepted by another NQSV site's tooling)
    'HLD': JobState.QUEUED_HELD,  # held
    'HOL': JobState.QUEUED_HELD,  # holding (being put on hold)
    'SUS': JobState.SUSPENDED,  # suspended
    'STG': JobState.RUNNING,  # staging files in or out: hosts are assigned
    'PRR': JobState.RUNNING,  # pre-running (prologue)
    'RUN': JobState.RUNNING,
    'CHK': JobState.RUNNING,  # checkpointing
    'POR': JobState.RUNNING,  # post-running (epilogue)
    'EXT': JobState.RUNNING,  # exiting; like PBS's 'E', still running for AiiDA until the request disappears
}

_SUBMIT_RE = re.compile(r'Request\s+(?P<seq>\d+)(?:\.(?P<host>\S+?))?\s+submitted\s+to\s+queue:\s*(?P<queue>\S+?)\.?\s*$',
                        re.MULTILINE)
_REQUEST_ID_RE = re.compile(r'^(?P<seq>\d+)(?:\.\S*)?$')
_SIZE_RE = re.compile(r'^(?P<value>[\d.]+)(?P<unit>[BKMGTP])$')
_SIZE_KB = {'B': 1 / 1024, 'K': 1, 'M': 1024, 'G': 1024**2, 'T': 1024**3, 'P': 1024**4}


def _quote(request_id: str) -> str:
    """A request id as a shell word: as it is when it is only digits, letters and dots, else quoted."""
    return request_id if re.fullmatch(r'[\w.]+', request_id) else escape_for_bash(request_id)


class NqsvJobResource(PbsJobResource):
    """Nodes and cores as for PBS, plus ``num_gpus_per_machine`` (written as ``-l gpunum_job=N``)."""

    _default_fields = PbsJobResource._default_fields + ('num_gpus_per_machine',)


def request_sequence_number(request_id: str) -> str:
    """``12345.sqd`` -> ``12345``; anything else is returned unchanged."""
    match = _REQUEST_ID_RE.match(request_id.strip())
    return match.group('seq') if match else request_id.strip()


def _size_to_kb(text: str) -> int | None:
    match = _SIZE_RE.match(text)
    if not match:
        return None
    return int(float(match.group('value')) * _SIZE_KB[match.group('unit')])


class NqsvScheduler(PbsBaseClass):
    """NEC NQSV (SQUID, Osaka University). See the module docstring for the formats and where they come from."""

    _job_resource_class = NqsvJobResource
    _map_status = NQSV_STATES
    # Plain `qstat` lists the requests of the user who runs it; AiiDA then picks its job ids out of them.
    _features = {'can_query_by_user': False}
    #: MPI type of ``-T`` when the job uses MPI (SQUID's Intel MPI; ``openmpi`` is the other choice there).
    mpi_type = 'intmpi'

    # ----------------------------------------------------------------------------------------------- submit script
    def _get_submit_script_header(self, job_tmpl: JobTemplate) -> str:
        lines = []
        if job_tmpl.submit_as_hold:
            lines.append('#PBS -h')
        lines.append('#PBS -r y' if job_tmpl.rerunnable else '#PBS -r n')
        if job_tmpl.email:
            lines.append(f'#PBS -M {job_tmpl.email}')
        events = ('b' if job_tmpl.email_on_started else '') + ('e' if job_tmpl.email_on_terminated else '')
        if events:
            lines.append(f'#PBS -m {events}')
        if job_tmpl.job_name:
            # Letters, digits, '.', '-', '_'; starts with a letter or digit; NQSV takes up to 63 characters.
            title = re.sub(r'[^a-zA-Z0-9_.-]+', '', job_tmpl.job_name)
            if not title or title[0] not in string.ascii_letters + string.digits:
                title = f'j{title}'
            lines.append(f'#PBS -N {title[:63]}')
        if job_tmpl.import_sys_environment:
            lines.append('#PBS -V')
        if job_tmpl.sched_output_path:
            lines.append(f'#PBS -o {job_tmpl.sched_output_path}')
        if job_tmpl.sched_join_files:
            lines.append('#PBS -j o')
        elif job_tmpl.sched_error_path:
            lines.append(f'#PBS -e {job_tmpl.sched_error_path}')
        if job_tmpl.queue_name:
            lines.append(f'#PBS -q {job_tmpl.queue_name}')
        if job_tmpl.account:
            lines.append(f'#PBS --group={job_tmpl.account}')
        if job_tmpl.priority:
            lines.append(f'#PBS -p {job_tmpl.priority}')

        resource = job_tmpl.job_resource
        if not resource:
            raise ValueError('Job resources (num_machines, ...) are required for the NQSV scheduler plugin')
        custom = job_tmpl.custom_scheduler_commands or ''
        uses_mpi = resource.num_machines > 1 or any(
            code.prepend_cmdline_params for code in (job_tmpl.codes_info or [])
        )
        if uses_mpi and not re.search(r'^\s*#PBS\s+-T\b', custom, re.MULTILINE):
            lines.append(f'#PBS -T {self.mpi_type}')
        lines += self._get_resource_lines(
            num_machines=resource.num_machines,
            num_mpiprocs_per_machine=resource.num_mpiprocs_per_machine,
            num_cores_per_machine=resource.num_cores_per_machine,
            max_memory_kb=job_tmpl.max_memory_kb,
            max_wallclock_seconds=job_tmpl.max_wallclock_seconds,
        )
        gpus = resource.get('num_gpus_per_machine')
        if gpus:
            lines.append(f'#PBS -l gpunum_job={int(gpus)}')
        if custom:
            lines.append(custom)
        lines.append('cd "$PBS_O_WORKDIR"')
        lines.append('')
        return '\n'.join(lines)

    def _get_resource_lines(
        self,
        num_machines: int,
        num_mpiprocs_per_machine: int | None,
        num_cores_per_machine: int | None,
        max_memory_kb: int | None,
        max_wallclock_seconds: int | None,
    ) -> list[str]:
        """``-b``, ``cpunum_job`` (cores per node: the cores if given, else the MPI processes), ``memsz_job`` (GB,
        rounded up), ``elapstim_req``."""
        lines = [f'#PBS -b {int(num_machines)}']
        cores = num_cores_per_machine or num_mpiprocs_per_machine
        if cores:
            lines.append(f'#PBS -l cpunum_job={int(cores)}')
        if max_memory_kb:
            try:
                memory_kb = int(max_memory_kb)
                if memory_kb <= 0:
                    raise ValueError
            except ValueError as exception:
                raise ValueError(f'max_memory_kb must be a positive integer (in kB), not `{max_memory_kb}`') from exception
            lines.append(f'#PBS -l memsz_job={math.ceil(memory_kb / 1024**2)}GB')
        if max_wallclock_seconds is not None:
            try:
                seconds = int(max_wallclock_seconds)
                if seconds <= 0:
                    raise ValueError
            except ValueError as exception:
                raise ValueError(
                    f'max_wallclock_seconds must be a positive integer (in seconds), not `{max_wallclock_seconds}`'
                ) from exception
            lines.append(f'#PBS -l elapstim_req={seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}')
        return lines

    # -------------------------------------------------------------------------------------------------- submission
    def _parse_submit_output(self, retval: int, stdout: str, stderr: str) -> str:
        """``Request 12345.sqd submitted to queue: SQUID.`` -> ``12345``."""
        if retval != 0:
            raise SchedulerError(f'qsub failed, retval={retval}; stdout={stdout}; stderr={stderr}')
        match = _SUBMIT_RE.search(stdout) or _SUBMIT_RE.search(stderr)
        if not match:
            raise SchedulerError(f'cannot find the request id in the qsub output: stdout={stdout}; stderr={stderr}')
        if stderr.strip():
            _LOGGER.warning(f'qsub wrote to stderr: {stderr.strip()}')
        return match.group('seq')

    # ----------------------------------------------------------------------------------------------------- qstat
    def _get_joblist_command(self, jobs: list[str] | None = None, user: str | None = None) -> str:
        """Plain ``qstat``: every request of the current user, one line each (AiiDA picks its jobs from them).

        Asking for given request ids would make ``qstat`` fail as soon as one of them has finished and left the
        system, so the ids are not passed; NQSV shows the caller's own requests, so ``user`` needs no option.
        """
        return 'qstat'

    def _parse_joblist_output(self, retval: int, stdout: str, stderr: str) -> list[JobInfo]:
        if retval != 0:
            raise SchedulerError(f'qstat failed, retval={retval}; stdout={stdout}; stderr={stderr}')
        if stderr.strip():
            _LOGGER.warning(f'qstat wrote to stderr: {stderr.strip()}')
        jobs = []
        for line in stdout.splitlines():
            fields = line.split()
            if not fields or not _REQUEST_ID_RE.match(fields[0]):
                continue  # blank, the header (RequestID ...), the dashes, or a message
            jobs.append(self._parse_qstat_line(fields, line))
        return jobs

    def _parse_qstat_line(self, fields: list[str], line: str = '') -> JobInfo:
        """One request: RequestID ReqName UserName Queue Pri STT S Memory CPU Elapse R H M Jobs.

        The nine right-hand columns are single tokens, so they are read from the right; the left-hand ones (id, name,
        user, queue, priority) from the left. A line that does not have that shape still yields a job (state
        ``UNDETERMINED`` unless a state code can be found in it): dropping it would make AiiDA believe the job ended.
        """
        job = JobInfo()
        job.job_id = request_sequence_number(fields[0])
        if len(fields) >= 14 and re.fullmatch(r'[A-Z]{3}', fields[-9]):
            right, left = fields[-9:], fields[:-9]  # STT S Memory CPU Elapse R H M Jobs | ID Name User Queue Pri
            state_code = right[0]
            job.title = ' '.join(left[1:-3])
            job.job_owner = left[-3]
            job.queue_name = left[-2]
            memory_kb = _size_to_kb(right[2])
            if memory_kb is not None:
                job.raw_data = {'memory_kb': memory_kb}
            for key, text, cast in (('cpu_time', right[3], float), ('wallclock_time_seconds', right[4], int),
                                    ('num_machines', right[8], int)):
                try:
                    job[key] = int(cast(text))
                except ValueError:
                    pass
        else:
            state_code = next((field for field in fields[1:] if field in NQSV_STATES), None)
            _LOGGER.warning(f'qstat: unexpected layout of the line {line!r}; state taken as {state_code}')
        if state_code in NQSV_STATES:
            job.job_state = NQSV_STATES[state_code]
        else:
            _LOGGER.warning(f'qstat: unknown NQSV state of request {fields[0]}: {line!r}')
            job.job_state = JobState.UNDETERMINED
        job.job_substate = state_code
        return job

    # ------------------------------------------------------------------------------------------------------ qdel
    def _get_kill_command(self, jobid: str) -> str:
        return f'qdel {_quote(jobid)}'

    def _parse_kill_output(self, retval: int, stdout: str, stderr: str) -> bool:
        if retval != 0:
            _LOGGER.error(f'qdel failed, retval={retval}; stdout={stdout}; stderr={stderr}')
            return False
        if stderr.strip():
            _LOGGER.warning(f'qdel wrote to stderr: {stderr.strip()}')
        return True

    def _get_detailed_job_info_command(self, job_id: str) -> str:
        """``qstat -f`` while the request is still known to NQSV (there is no ``tracejob``); kept for the record."""
        return f'qstat -f {_quote(job_id)}'
