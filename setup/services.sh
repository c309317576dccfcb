#!/usr/bin/env bash
# The services of aiida-polyinf's scale-out profile and of its "remote" test computer, from Debian packages, on a
# machine without systemd:
#
#   setup/services.sh start  [postgres|rabbitmq|ssh|slurm|all]   install if missing, configure, start (idempotent)
#   setup/services.sh stop   [postgres|rabbitmq|ssh|slurm|all]
#   setup/services.sh status [postgres|rabbitmq|ssh|slurm|all]
#   setup/services.sh master open|close|check                    the test computer's SSH ControlMaster connection
#   setup/services.sh clean  ssh                                  stop sshd, remove its state and the ~/.ssh/config line
#
# `all` (the default, what `make test` runs) is postgres, rabbitmq, ssh and slurm; each also works on its own. With
# `all`, every service is tried and the script fails at the end, naming those that did not start. Needs root (or
# sudo) for start/stop/clean; `status` and `master` do not. What `start` does:
#  - PostgreSQL: installs `postgresql` if missing, uses the newest installed major version (Debian 12: 15) and its
#    `main` cluster (created if absent), started with `pg_ctlcluster <version> main start`. Generates the
#    en_US.UTF-8 locale (AiiDA creates its databases with it) and restarts PostgreSQL when it had to. Without sudo,
#    AiiDA reaches the `postgres` role over TCP with a password: one is generated on first start and kept OUTSIDE the
#    repository in ${POLYINF_CONFIG:-~/.config/aiida-polyinf}/postgres.env (mode 600, PGHOST/PGPORT/PGUSER/PGPASSWORD);
#    it is never printed. `source` that file to use it.
#  - RabbitMQ: installs `rabbitmq-server` if missing (without letting the package start it), sets
#    `consumer_timeout` to `undefined` in /etc/rabbitmq/advanced.config (AiiDA's long-running processes otherwise
#    lose their task after 30 min), starts `rabbitmq-server -detached` and waits for `rabbitmq-diagnostics -q ping`.
#    With the timeout undefined, AiiDA's warning about RabbitMQ >= 3.8.15 does not apply: `polyinf setup --postgres`
#    sets `warnings.rabbitmq_version False` on the profile it makes (`verdi -p NAME config set ...` by hand).
#  - ssh: a test computer `polyinf-mdx-test` that is this machine reached over SSH, as an mdx VM or SQUID is. Installs
#    `openssh-server`/`openssh-client` if missing and runs an sshd of its own (not the system one), on 127.0.0.1 port
#    ${POLYINF_SSH_PORT:-2222} only, public keys only, with its state outside the repository (CONFIG = the config dir
#    above):
#        CONFIG/sshd/      sshd_config, ssh_host_ed25519_key(.pub), authorized_keys, sshd.pid, sshd.log
#        CONFIG/mdx-test/  id_ed25519(.pub) (the client key, no passphrase), ssh_config (Host polyinf-mdx-test),
#                          known_hosts (our sshd's host key), cm-%C (the ControlMaster socket; /tmp/polyinf-cm-%C
#                          when CONFIG is too long a path for a socket)
#    and one `Include CONFIG/mdx-test/ssh_config` line at the top of ~/.ssh/config, so that the plain `ssh`, `scp`
#    and `sftp` commands of AiiDA's `core.ssh_async` transport (backend `openssh`) find the alias. The alias has
#    `BatchMode yes` and `IdentityFile none`: a plain `ssh polyinf-mdx-test` gets in ONLY through an open master
#    socket, as on SQUID, where a login takes a password and a one-time code. `master open` is that login (it alone
#    is given the key; on SQUID it is `ssh -M -f -N squid` and the user types the password and the code, see
#    setup/ssh/README.md); `master close` ends it, after which `ssh polyinf-mdx-test` is refused at once. `stop ssh`
#    stops sshd and its sessions (so an open master ends too); `clean ssh` also removes the state and the Include line.
#  - slurm: a one-node Slurm cluster (partitions `debug`, the default, no time limit, and `short`, at most 10 min,
#    with limits enforced at submission) on this machine, as self-installed on mdx VMs. Installs `slurm-wlm` and
#    `munge` if missing, creates /etc/munge/munge.key if absent, starts munged (as the munge user), writes
#    /etc/slurm/slurm.conf (an existing file that this script did not write is kept as slurm.conf.before-polyinf),
#    starts slurmctld and slurmd as daemons (SlurmUser root) and waits until the node is idle. Logs in
#    /var/log/slurm/, state in /var/lib/slurm/.
set -euo pipefail

ACTION=${1:-status}
WHAT=${2:-}
CONFIG_DIR=${POLYINF_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/aiida-polyinf}
case "$CONFIG_DIR" in /*) ;; *) CONFIG_DIR="$PWD/$CONFIG_DIR" ;; esac  # sshd and ssh need absolute paths
PG_ENV="$CONFIG_DIR/postgres.env"
RABBIT_ADVANCED=/etc/rabbitmq/advanced.config
LOCALE=en_US.UTF-8

SSH_PORT=${POLYINF_SSH_PORT:-2222}
SSH_ALIAS=polyinf-mdx-test
SSH_USER=$(id -un)
SSHD_DIR="$CONFIG_DIR/sshd"
SSHD_CONFIG="$SSHD_DIR/sshd_config"
SSHD_HOSTKEY="$SSHD_DIR/ssh_host_ed25519_key"
SSHD_AUTHKEYS="$SSHD_DIR/authorized_keys"
SSHD_PID="$SSHD_DIR/sshd.pid"
SSHD_LOG="$SSHD_DIR/sshd.log"
MDX_DIR="$CONFIG_DIR/mdx-test"
MDX_KEY="$MDX_DIR/id_ed25519"
MDX_SSH_CONFIG="$MDX_DIR/ssh_config"
MDX_KNOWN_HOSTS="$MDX_DIR/known_hosts"
USER_SSH_CONFIG="$HOME/.ssh/config"
SSH_MARK='# aiida-polyinf test computer (setup/services.sh)'
# A socket path must fit in 104 bytes; ssh adds 17 characters to %C's 40 while it creates the socket.
CONTROL_PATH="$MDX_DIR/cm-%C"
[ $((${#MDX_DIR} + 4 + 40 + 17)) -lt 104 ] || CONTROL_PATH=/tmp/polyinf-cm-%C

SLURM_CONF=/etc/slurm/slurm.conf
SLURM_MARK='# aiida-polyinf (setup/services.sh)'
SLURM_LOG_DIR=/var/log/slurm
SLURM_STATE_DIR=/var/lib/slurm/slurmctld
SLURMD_SPOOL_DIR=/var/lib/slurm/slurmd
SLURMCTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_KEY=/etc/munge/munge.key
MUNGE_PID=/run/munge/munged.pid

ALL_SERVICES="postgres rabbitmq ssh slurm"
USAGE="usage: $0 start|stop|status [postgres|rabbitmq|ssh|slurm|all] | master open|close|check | clean ssh"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if [ "$ACTION" != status ] && [ "$ACTION" != master ]; then
        command -v sudo >/dev/null 2>&1 || { echo "services.sh $ACTION: run as root (no sudo here)" >&2; exit 1; }
        SUDO="sudo"
    fi
fi

log() { echo "services: $*"; }

APT_UPDATED=""
apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    if [ -z "$APT_UPDATED" ]; then
        $SUDO apt-get update -qq
        APT_UPDATED=1
    fi
    # No init system: keep the maintainer scripts from trying to start the services (we start them ourselves).
    local policy=/usr/sbin/policy-rc.d made_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod 755 "$policy"
        made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || { [ -n "$made_policy" ] && $SUDO rm -f "$policy"; return 1; }
    [ -n "$made_policy" ] && $SUDO rm -f "$policy"
    return 0
}

# ---------------------------------------------------------------------------------------------------------- PostgreSQL
pg_version() {
    # The newest installed server version (the directory names under /usr/lib/postgresql), empty if none.
    ls /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -1 || true
}

pg_field() {  # pg_field VERSION COLUMN: a column (1-based) of `pg_lsclusters` for the main cluster
    pg_lsclusters --no-header 2>/dev/null | awk -v v="$1" -v c="$2" '$1 == v && $2 == "main" {print $c}'
}

pg_online() { [ "$(pg_field "$1" 4)" = online ]; }

as_postgres() { $SUDO runuser -u postgres -- "$@"; }

locale_present() { locale -a 2>/dev/null | grep -qix 'en_US.utf8'; }

ensure_locale() {  # sets PG_RESTART when it generated the locale (PostgreSQL must be restarted to see it)
    locale_present && return 0
    apt_install locales
    log "generating the $LOCALE locale"
    if grep -qE "^#? *$LOCALE UTF-8" /etc/locale.gen; then
        $SUDO sed -i -E "s/^# *($LOCALE UTF-8)/\1/" /etc/locale.gen
    else
        echo "$LOCALE UTF-8" | $SUDO tee -a /etc/locale.gen >/dev/null
    fi
    $SUDO locale-gen >/dev/null
    locale_present || { echo "services: could not generate $LOCALE" >&2; exit 1; }
    PG_RESTART=1
}

ensure_pg_password() {
    # The password of the `postgres` role, for AiiDA over TCP (no sudo): generated once, kept outside the repository.
    local port password
    port=$(pg_field "$1" 3)
    if [ -f "$PG_ENV" ]; then
        password=$(sed -n 's/^PGPASSWORD=//p' "$PG_ENV")
    fi
    if [ -z "${password:-}" ]; then
        password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
        log "generated a password for the postgres role, stored in $PG_ENV (mode 600)"
    fi
    (
        umask 077
        mkdir -p "$CONFIG_DIR"
        printf 'PGHOST=localhost\nPGPORT=%s\nPGUSER=postgres\nPGPASSWORD=%s\n' "$port" "$password" >"$PG_ENV.tmp"
        mv "$PG_ENV.tmp" "$PG_ENV"
    )
    chmod 600 "$PG_ENV"
    # On stdin, not on a command line (other users could read it in `ps`).
    as_postgres psql -q -X -v ON_ERROR_STOP=1 -p "$port" -d postgres >/dev/null <<SQL
ALTER ROLE postgres PASSWORD '$password';
SQL
}

pg_start() {
    [ -n "$(pg_version)" ] || apt_install postgresql
    local version
    PG_RESTART=""
    version=$(pg_version)
    [ -n "$version" ] || { echo "services: no PostgreSQL server installed" >&2; exit 1; }
    if [ -z "$(pg_field "$version" 1)" ]; then
        log "creating PostgreSQL $version cluster main"
        $SUDO pg_createcluster "$version" main >/dev/null
    fi
    ensure_locale
    if pg_online "$version"; then
        if [ -n "$PG_RESTART" ]; then
            log "restarting PostgreSQL $version (new locale)"
            $SUDO pg_ctlcluster "$version" main restart
        fi
    else
        log "starting PostgreSQL $version"
        $SUDO pg_ctlcluster "$version" main start
    fi
    for _ in $(seq 30); do
        pg_isready -q -h localhost -p "$(pg_field "$version" 3)" && break
        sleep 1
    done
    ensure_pg_password "$version"
    pg_status
}

pg_stop() {
    local version
    version=$(pg_version)
    if [ -n "$version" ] && pg_online "$version"; then
        log "stopping PostgreSQL $version"
        $SUDO pg_ctlcluster "$version" main stop
    fi
    pg_status
}

pg_status() {
    local version port
    version=$(pg_version)
    if [ -z "$version" ]; then
        echo "postgres: not installed"
        return 0
    fi
    port=$(pg_field "$version" 3)
    if pg_online "$version"; then
        echo "postgres: running (PostgreSQL $version, cluster main, port $port)," \
            "locale $LOCALE $(locale_present && echo present || echo MISSING)," \
            "credentials $([ -f "$PG_ENV" ] && echo "in $PG_ENV" || echo 'not set (run start)')"
    else
        echo "postgres: stopped (PostgreSQL $version${port:+, port $port})"
    fi
}

# ------------------------------------------------------------------------------------------------------------ RabbitMQ
rabbit_running() { command -v rabbitmq-diagnostics >/dev/null 2>&1 && $SUDO rabbitmq-diagnostics -q ping >/dev/null 2>&1; }

ensure_consumer_timeout() {  # sets RABBIT_RESTART when it wrote the file (a running broker must be restarted)
    if [ -f "$RABBIT_ADVANCED" ] && grep -q 'consumer_timeout' "$RABBIT_ADVANCED"; then
        grep -qE 'consumer_timeout *, *undefined' "$RABBIT_ADVANCED" && return 0
        echo "services: $RABBIT_ADVANCED sets consumer_timeout to something else than undefined: edit it" >&2
        return 0
    fi
    if [ -s "$RABBIT_ADVANCED" ] && grep -q '[^[:space:]]' "$RABBIT_ADVANCED"; then
        echo "services: $RABBIT_ADVANCED has other settings: add {rabbit, [{consumer_timeout, undefined}]} by hand" >&2
        return 0
    fi
    log "setting consumer_timeout to undefined in $RABBIT_ADVANCED"
    $SUDO mkdir -p "$(dirname "$RABBIT_ADVANCED")"
    printf '%% aiida-polyinf (setup/services.sh): no timeout on unacknowledged AiiDA tasks.\n[\n  {rabbit, [\n    {consumer_timeout, undefined}\n  ]}\n].\n' \
        | $SUDO tee "$RABBIT_ADVANCED" >/dev/null
    RABBIT_RESTART=1
}

rabbit_halt() {  # stop the node and wait until it no longer answers (a restart must not race the old node)
    $SUDO rabbitmqctl -q stop >/dev/null 2>&1 || true
    for _ in $(seq 30); do
        rabbit_running || return 0
        sleep 1
    done
    echo "services: RabbitMQ still answers 30 s after rabbitmqctl stop" >&2
    exit 1
}

rabbit_wait() {
    for _ in $(seq 90); do
        rabbit_running && return 0
        sleep 1
    done
    echo "services: RabbitMQ did not answer a ping in 90 s (see /var/log/rabbitmq/)" >&2
    exit 1
}

rabbit_start() {
    command -v rabbitmq-server >/dev/null 2>&1 || apt_install rabbitmq-server
    RABBIT_RESTART=""
    ensure_consumer_timeout
    if rabbit_running; then
        if [ -n "$RABBIT_RESTART" ]; then
            log "restarting RabbitMQ (new advanced.config)"
            rabbit_halt
            $SUDO rabbitmq-server -detached
            rabbit_wait
        fi
    else
        log "starting RabbitMQ"
        $SUDO rabbitmq-server -detached
        rabbit_wait
    fi
    rabbit_status
}

rabbit_stop() {
    if rabbit_running; then
        log "stopping RabbitMQ"
        rabbit_halt
    fi
    rabbit_status
}

rabbit_status() {
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        echo "rabbitmq: not installed"
    elif rabbit_running; then
        local version timeout
        version=$($SUDO rabbitmqctl -q eval 'rabbit_misc:version().' 2>/dev/null | tr -d '"' || true)
        timeout=$($SUDO rabbitmqctl -q eval 'application:get_env(rabbit, consumer_timeout).' 2>/dev/null || true)
        echo "rabbitmq: running (RabbitMQ ${version:-?}, ping ok), consumer_timeout ${timeout:-?}"
    else
        echo "rabbitmq: stopped"
    fi
}

# ------------------------------------------------------------------------------------------------------------- helpers
install_file() {  # install_file PATH MODE [sudo] < CONTENT: write PATH only if its content differs; 0 when it changed
    local path=$1 mode=$2 as=${3:-} tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if [ -n "$as" ]; then
        if $SUDO test -f "$path" && $SUDO cmp -s "$tmp" "$path"; then
            rm -f "$tmp"
            return 1
        fi
        $SUDO install -m "$mode" "$tmp" "$path"
        rm -f "$tmp"
        return 0
    fi
    chmod "$mode" "$tmp"
    if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"
        chmod "$mode" "$path"
        return 1
    fi
    mv "$tmp" "$path"
    return 0
}

pid_of() {  # pid_of PIDFILE NAME [WORD]: the pid in PIDFILE if that process runs NAME (with WORD in its command line)
    local pid
    pid=$(cat "$1" 2>/dev/null || $SUDO cat "$1" 2>/dev/null || true)
    case "$pid" in '' | *[!0-9]*) return 1 ;; esac
    alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
    if [ -n "${3:-}" ]; then tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$3" || return 1; fi
    echo "$pid"
}

wait_gone() {  # wait_gone SECONDS PID...: wait until none of the processes is left; 1 if some still run
    local deadline=$((SECONDS + $1)) pid left
    shift
    while :; do
        left=""
        for pid in "$@"; do alive "$pid" && left=1; done
        [ -z "$left" ] && return 0
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

alive() {  # alive PID: the process exists and is not a zombie (this machine's init may reap late)
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ------------------------------------------------------------------------------------------------------------------ ssh
sshd_pid() { pid_of "$SSHD_PID" sshd "$SSHD_CONFIG"; }

check_config_path() {
    case "$CONFIG_DIR" in *[[:space:]]*)
        echo "services: the config dir '$CONFIG_DIR' contains white space, which ssh configs cannot hold: set" \
            "POLYINF_CONFIG to another directory" >&2
        exit 1
        ;;
    esac
}

write_sshd_config() {  # 0 when the file changed
    install_file "$SSHD_CONFIG" 600 <<CONF
# aiida-polyinf (setup/services.sh): the sshd of the test computer $SSH_ALIAS, loopback only, public keys only.
Port $SSH_PORT
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $SSHD_HOSTKEY
PidFile $SSHD_PID
AuthorizedKeysFile $SSHD_AUTHKEYS
AllowUsers $SSH_USER
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes yes
# AiiDA runs several commands at once through one master connection: each is a session of that connection.
MaxSessions 64
MaxStartups 64:30:128
X11Forwarding no
AllowAgentForwarding no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
LogLevel INFO
CONF
}

write_client_config() {
    install_file "$MDX_SSH_CONFIG" 600 <<CONF || true
$SSH_MARK
# The test computer: this machine's own sshd (setup/services.sh start ssh). BatchMode and no identity file: a plain
# \`ssh $SSH_ALIAS\` only gets in through the master connection of \`setup/services.sh master open\`, as on SQUID.
Host $SSH_ALIAS
    HostName 127.0.0.1
    Port $SSH_PORT
    User $SSH_USER
    BatchMode yes
    ConnectTimeout 10
    ControlMaster no
    ControlPath $CONTROL_PATH
    ControlPersist no
    IdentitiesOnly yes
    IdentityFile none
    StrictHostKeyChecking yes
    UserKnownHostsFile $MDX_KNOWN_HOSTS
    GlobalKnownHostsFile /dev/null
    ServerAliveInterval 30
CONF
    install_file "$MDX_KNOWN_HOSTS" 600 <<CONF || true
[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$SSHD_HOSTKEY.pub")
CONF
}

strip_ssh_include() {  # stdin -> stdout without our marker line and the Include line after it
    awk -v mark="$SSH_MARK" 'skip { skip = 0; if ($1 == "Include") next } $0 == mark { skip = 1; next } { print }'
}

ensure_ssh_include() {  # our Include line at the top of ~/.ssh/config (before any Host block)
    local line="Include $MDX_SSH_CONFIG" tmp
    mkdir -p "$HOME/.ssh"
    chmod 700 "$HOME/.ssh"
    [ -e "$USER_SSH_CONFIG" ] || (umask 077 && : >"$USER_SSH_CONFIG")
    [ "$(head -n 2 "$USER_SSH_CONFIG")" = "$SSH_MARK"$'\n'"$line" ] && return 0
    tmp=$(mktemp)
    { printf '%s\n%s\n' "$SSH_MARK" "$line"; strip_ssh_include <"$USER_SSH_CONFIG"; } >"$tmp"
    cat "$tmp" >"$USER_SSH_CONFIG"  # in place: keeps a symbolic link and the file's mode
    rm -f "$tmp"
    log "added '$line' at the top of $USER_SSH_CONFIG"
}

ssh_self_check() {  # a login with the key, without the master, through our config: exits with the sshd log if refused
    local out
    if ! out=$(ssh -F "$MDX_SSH_CONFIG" -o ControlPath=none -o IdentityFile="$MDX_KEY" "$SSH_ALIAS" true \
        2>&1 </dev/null); then
        echo "services: sshd runs but a login with $MDX_KEY fails: $out" >&2
        echo "services: last lines of $SSHD_LOG:" >&2
        $SUDO tail -n 10 "$SSHD_LOG" >&2 || true
        echo "services: (without PAM, sshd refuses an account whose password is locked with '!':" \
            "'passwd -S $SSH_USER')" >&2
        exit 1
    fi
}

sshd_stop_pid() {  # sshd_stop_pid PID: the listener and its sessions (their sshd processes are its children)
    local children
    children=$(ps -o pid= --ppid "$1" 2>/dev/null | tr -s ' \n' ' ' || true)
    # shellcheck disable=SC2086  # the pids are words
    $SUDO kill "$1" $children 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 10 "$1" $children || { echo "services: sshd (pid $1) still runs 10 s after SIGTERM" >&2; exit 1; }
}

ssh_start() {
    check_config_path
    local restart="" pid running_port=""
    if pid=$(sshd_pid); then
        running_port=$(sed -n 's/^Port //p' "$SSHD_CONFIG" 2>/dev/null || true)
    fi
    # Before anything is written (~/.ssh/config included): the port must be free, or our sshd's.
    if [ "$running_port" != "$SSH_PORT" ] && port_open "$SSH_PORT"; then
        echo "services: something else listens on 127.0.0.1:$SSH_PORT: set POLYINF_SSH_PORT to a free port" >&2
        exit 1
    fi
    apt_install openssh-server openssh-client
    (umask 077 && mkdir -p "$SSHD_DIR" "$MDX_DIR")
    chmod 700 "$SSHD_DIR" "$MDX_DIR"
    if [ ! -f "$SSHD_HOSTKEY" ]; then
        log "generating the host key of the test sshd in $SSHD_HOSTKEY"
        ssh-keygen -q -t ed25519 -N '' -C "aiida-polyinf test sshd" -f "$SSHD_HOSTKEY" </dev/null
    fi
    if [ ! -f "$MDX_KEY" ]; then
        log "generating the client key of $SSH_ALIAS in $MDX_KEY (no passphrase)"
        ssh-keygen -q -t ed25519 -N '' -C "aiida-polyinf $SSH_ALIAS" -f "$MDX_KEY" </dev/null
    fi
    chmod 600 "$SSHD_HOSTKEY" "$MDX_KEY"
    install_file "$SSHD_AUTHKEYS" 600 <"$MDX_KEY.pub" || true
    if write_sshd_config; then
        restart=1
    fi
    write_client_config
    ensure_ssh_include
    $SUDO install -d -m 755 /run/sshd  # sshd's privilege separation directory
    if pid=$(sshd_pid) && [ -n "$restart" ]; then
        log "restarting the test sshd (new $SSHD_CONFIG)"
        $SUDO kill "$pid"
        wait_gone 10 "$pid" || { echo "services: sshd (pid $pid) still runs 10 s after SIGTERM" >&2; exit 1; }
    fi
    if ! sshd_pid >/dev/null; then
        $SUDO /usr/sbin/sshd -t -f "$SSHD_CONFIG"
        log "starting the test sshd on 127.0.0.1:$SSH_PORT"
        $SUDO /usr/sbin/sshd -f "$SSHD_CONFIG" -E "$SSHD_LOG"
        for _ in $(seq 50); do
            port_open "$SSH_PORT" && break
            sleep 0.2
        done
        port_open "$SSH_PORT" || {
            echo "services: sshd does not listen on 127.0.0.1:$SSH_PORT after 10 s; last lines of $SSHD_LOG:" >&2
            $SUDO tail -n 10 "$SSHD_LOG" >&2 || true
            exit 1
        }
    fi
    ssh_self_check
    ssh_status
}

ssh_stop() {
    local pid
    if pid=$(sshd_pid); then
        log "stopping the test sshd (pid $pid) and its sessions"
        sshd_stop_pid "$pid"
    fi
    ssh_status
}

ssh_clean() {
    local pid tmp
    if pid=$(sshd_pid); then
        log "stopping the test sshd (pid $pid) and its sessions"
        sshd_stop_pid "$pid"
    fi
    if [ -f "$USER_SSH_CONFIG" ] && grep -qxF "$SSH_MARK" "$USER_SSH_CONFIG"; then
        tmp=$(mktemp)
        strip_ssh_include <"$USER_SSH_CONFIG" >"$tmp"
        cat "$tmp" >"$USER_SSH_CONFIG"
        rm -f "$tmp"
        log "removed the Include line of $SSH_ALIAS from $USER_SSH_CONFIG"
    fi
    if [ -e "$SSHD_DIR" ] || [ -e "$MDX_DIR" ]; then
        log "removing $SSHD_DIR and $MDX_DIR"
        $SUDO rm -rf "$SSHD_DIR" "$MDX_DIR"
    fi
    ssh_status
}

master_ssh() { ssh -F "$MDX_SSH_CONFIG" "$@" "$SSH_ALIAS"; }

master_open_now() { [ -f "$MDX_SSH_CONFIG" ] && master_ssh -O check >/dev/null 2>&1 </dev/null; }

master() {
    if [ ! -f "$MDX_SSH_CONFIG" ]; then
        echo "services: no $MDX_SSH_CONFIG: run 'setup/services.sh start ssh' first" >&2
        exit 1
    fi
    case "${1:-check}" in
        open)
            if master_open_now; then
                log "the master connection to $SSH_ALIAS is already open"
                return 0
            fi
            # On SQUID this is the one interactive login of the day (password + one-time code); here the key does it.
            # ssh detaches after the login; its stdin/stdout go to /dev/null so that no caller waits on them.
            master_ssh -M -N -f -o ControlMaster=yes -o ControlPersist=yes -o BatchMode=yes -i "$MDX_KEY" \
                -o IdentityFile="$MDX_KEY" -o IdentitiesOnly=yes </dev/null >/dev/null \
                || {
                    echo "services: could not open the master connection to $SSH_ALIAS" \
                        "(is sshd running? 'setup/services.sh status ssh')" >&2
                    exit 1
                }
            log "opened the master connection to $SSH_ALIAS"
            ;;
        close)
            if master_open_now; then
                master_ssh -O exit </dev/null >/dev/null 2>&1 || true
                for _ in $(seq 25); do
                    master_open_now || break
                    sleep 0.2
                done
                log "closed the master connection to $SSH_ALIAS"
            else
                log "no master connection to $SSH_ALIAS is open"
            fi
            ;;
        check)
            if master_open_now; then
                echo "master: open ($SSH_ALIAS)"
            else
                echo "master: closed ($SSH_ALIAS)"
                return 1
            fi
            ;;
        *)
            echo "$USAGE" >&2
            exit 2
            ;;
    esac
}

ssh_status() {
    local pid include=missing
    if [ ! -x /usr/sbin/sshd ]; then
        echo "ssh: not installed"
        return 0
    fi
    [ -f "$USER_SSH_CONFIG" ] && grep -qxF "Include $MDX_SSH_CONFIG" "$USER_SSH_CONFIG" && include="in $USER_SSH_CONFIG"
    if pid=$(sshd_pid); then
        echo "ssh: running (sshd pid $pid, 127.0.0.1:$SSH_PORT, alias $SSH_ALIAS user $SSH_USER)," \
            "master $(master_open_now && echo open || echo closed), Include $include"
    else
        echo "ssh: stopped (alias $SSH_ALIAS, 127.0.0.1:$SSH_PORT)"
    fi
}

# ---------------------------------------------------------------------------------------------------------------- Slurm
munged_pid() { pid_of "$MUNGE_PID" munged; }

munge_works() { command -v munge >/dev/null 2>&1 && munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }

munge_start() {
    if ! $SUDO test -s "$MUNGE_KEY"; then
        log "creating the munge key $MUNGE_KEY"
        $SUDO install -d -o munge -g munge -m 700 /etc/munge
        $SUDO mungekey --create --keyfile="$MUNGE_KEY"
    fi
    $SUDO chown munge:munge "$MUNGE_KEY"
    $SUDO chmod 400 "$MUNGE_KEY"
    $SUDO install -d -o munge -g munge -m 755 /run/munge
    $SUDO install -d -o munge -g munge -m 700 /var/lib/munge /var/log/munge
    munge_works && return 0
    local pid
    if pid=$(munged_pid); then  # runs but does not answer: start afresh
        $SUDO kill "$pid"
        wait_gone 10 "$pid" || true
    fi
    log "starting munged"
    $SUDO runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do
        munge_works && return 0
        sleep 0.2
    done
    echo "services: munged does not answer (munge -n | unmunge) after 10 s;" \
        "last lines of /var/log/munge/munged.log:" >&2
    $SUDO tail -n 10 /var/log/munge/munged.log >&2 || true
    exit 1
}

slurm_host() { hostname -s; }

write_slurm_conf() {  # 0 when the file changed
    local host cpus mem_mb
    host=$(slurm_host)
    cpus=$(getconf _NPROCESSORS_ONLN)
    mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    mem_mb=$((mem_mb * 95 / 100 / 256 * 256))  # some left to the system, rounded so that it stays the same
    [ "$mem_mb" -ge 256 ] || mem_mb=256
    if $SUDO test -f "$SLURM_CONF" && ! $SUDO grep -qF "$SLURM_MARK" "$SLURM_CONF"; then
        local backup="$SLURM_CONF.before-polyinf"
        $SUDO test -e "$backup" && backup="$backup.$(date +%Y%m%d%H%M%S)"
        log "keeping the existing $SLURM_CONF (not written by this script) as $backup"
        $SUDO cp -p "$SLURM_CONF" "$backup"
    fi
    $SUDO install -d -m 755 "$(dirname "$SLURM_CONF")"
    install_file "$SLURM_CONF" 644 sudo <<CONF
$SLURM_MARK: a one-node cluster on this machine for aiida-polyinf's tests
# (the test computer polyinf-mdx-test). Rewritten by each 'setup/services.sh start slurm': edit the script, not this.
ClusterName=polyinf
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$SLURM_STATE_DIR
SlurmdSpoolDir=$SLURMD_SPOOL_DIR
SlurmctldPidFile=$SLURMCTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$SLURM_LOG_DIR/slurmctld.log
SlurmdLogFile=$SLURM_LOG_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
# A job above a partition's limits is refused at submission (sbatch fails), as on most clusters.
EnforcePartLimits=ALL
# Trust the node line below rather than what slurmd detects (containers and VMs report odd topologies).
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=short Nodes=ALL Default=NO MaxTime=00:10:00 State=UP
CONF
}

slurmctld_pid() { pid_of "$SLURMCTLD_PID" slurmctld; }
slurmd_pid() { pid_of "$SLURMD_PID" slurmd; }

slurm_logs() {  # the last lines of both logs, on stderr
    local file
    for file in "$SLURM_LOG_DIR/slurmctld.log" "$SLURM_LOG_DIR/slurmd.log"; do
        echo "services: last lines of $file:" >&2
        $SUDO tail -n 15 "$file" >&2 2>/dev/null || echo "  (none)" >&2
    done
}

slurm_daemons_stop() {
    local ctld slurmd pids=()
    ctld=$(slurmctld_pid || true)
    slurmd=$(slurmd_pid || true)
    [ -n "$ctld$slurmd" ] || return 0
    log "stopping slurmctld and slurmd"
    [ -n "$ctld" ] && { $SUDO scontrol shutdown >/dev/null 2>&1 || true; pids+=("$ctld"); }
    [ -n "$slurmd" ] && pids+=("$slurmd")
    wait_gone 15 "${pids[@]}" && return 0
    $SUDO kill "${pids[@]}" 2>/dev/null || true
    wait_gone 10 "${pids[@]}" || { echo "services: slurmctld/slurmd still run after SIGTERM" >&2; exit 1; }
}

slurm_node_state() { sinfo -h -n "$(slurm_host)" -o %T 2>/dev/null | head -1; }

slurm_wait_idle() {
    local state="" resumed=""
    for _ in $(seq 120); do
        state=$(slurm_node_state)
        case "$state" in
            idle | mixed | allocated | completing | mixed+* | allocated+* | idle+*) return 0 ;;
            down | drained | drain* | down+* | fail*)
                if [ -z "$resumed" ]; then
                    log "node $(slurm_host) is $state: resuming it"
                    $SUDO scontrol update nodename="$(slurm_host)" state=resume >/dev/null 2>&1 || true
                    resumed=1
                fi
                ;;
        esac
        sleep 0.5
    done
    echo "services: the Slurm node $(slurm_host) is not idle after 60 s (state: ${state:-no answer})" >&2
    $SUDO scontrol show node "$(slurm_host)" 2>/dev/null | grep -i reason >&2 || true
    slurm_logs
    exit 1
}

slurm_start() {
    apt_install munge slurm-wlm
    munge_start
    local changed=""
    if write_slurm_conf; then
        changed=1
        log "wrote $SLURM_CONF"
    fi
    $SUDO install -d -m 755 "$SLURM_LOG_DIR" "$(dirname "$SLURM_STATE_DIR")"
    $SUDO install -d -m 700 "$SLURM_STATE_DIR" "$SLURMD_SPOOL_DIR"
    if [ -n "$changed" ]; then
        slurm_daemons_stop  # a new node or partition line needs both daemons restarted
    fi
    if ! slurmctld_pid >/dev/null; then
        log "starting slurmctld"
        $SUDO slurmctld || { slurm_logs; exit 1; }
    fi
    for _ in $(seq 60); do
        scontrol ping 2>/dev/null | grep -q 'is UP' && break
        sleep 0.5
    done
    scontrol ping 2>/dev/null | grep -q 'is UP' || {
        echo "services: slurmctld does not answer 'scontrol ping' after 30 s" >&2
        slurm_logs
        exit 1
    }
    if ! slurmd_pid >/dev/null; then
        log "starting slurmd"
        $SUDO slurmd || { slurm_logs; exit 1; }
    fi
    slurm_wait_idle
    slurm_status
}

slurm_stop() {
    slurm_daemons_stop
    local pid
    if pid=$(munged_pid); then
        log "stopping munged"
        $SUDO kill "$pid"
        wait_gone 10 "$pid" || true
    fi
    slurm_status
}

slurm_status() {
    if ! command -v slurmctld >/dev/null 2>&1; then
        echo "slurm: not installed"
    elif slurmctld_pid >/dev/null && slurmd_pid >/dev/null && scontrol ping 2>/dev/null | grep -q 'is UP'; then
        local version partitions
        version=$(sinfo -V 2>/dev/null | awk '{print $2}')
        partitions=$(sinfo -h -o '%P:%l' 2>/dev/null | tr '\n' ' ' | sed 's/ $//')
        echo "slurm: running (Slurm ${version:-?}, cluster polyinf, node $(slurm_host) $(slurm_node_state)," \
            "partitions ${partitions:-?}), munge $(munge_works && echo ok || echo 'NOT ANSWERING')"
    else
        local ctld slurmd munged
        ctld=$(slurmctld_pid >/dev/null && echo running || echo stopped)
        slurmd=$(slurmd_pid >/dev/null && echo running || echo stopped)
        munged=$(munged_pid >/dev/null && echo running || echo stopped)
        if [ "$ctld$slurmd$munged" = stoppedstoppedstopped ]; then
            echo "slurm: stopped"
        else
            echo "slurm: not working (slurmctld $ctld, slurmd $slurmd, munged $munged; 'setup/services.sh start slurm')"
        fi
    fi
}

# ---------------------------------------------------------------------------------------------------------------- main
service_action() {  # service_action ACTION SERVICE
    case "$2" in
        postgres) "pg_$1" ;;
        rabbitmq) "rabbit_$1" ;;
        ssh) "ssh_$1" ;;
        slurm) "slurm_$1" ;;
    esac
}

case "$ACTION" in
    master)
        master "${WHAT:-check}"
        exit
        ;;
    clean)
        [ "${WHAT:-}" = ssh ] || { echo "$USAGE" >&2; exit 2; }
        ssh_clean
        exit
        ;;
    start | stop | status) ;;
    *)
        echo "$USAGE" >&2
        exit 2
        ;;
esac
WHAT=${WHAT:-all}
case "$WHAT" in postgres | rabbitmq | ssh | slurm | all) ;; *) echo "$USAGE" >&2; exit 2 ;; esac

if [ "$WHAT" != all ]; then
    service_action "$ACTION" "$WHAT"
elif [ "$ACTION" = status ]; then
    for service in $ALL_SERVICES; do service_action status "$service"; done
else
    # Each service in a process of its own (a failure of one does not stop the others); stopped in reverse order.
    services=$ALL_SERVICES
    [ "$ACTION" = stop ] && services=$(echo "$ALL_SERVICES" | tr ' ' '\n' | tac | tr '\n' ' ')
    failed=()
    for service in $services; do
        bash "$0" "$ACTION" "$service" || failed+=("$service")
    done
    if [ ${#failed[@]} -ne 0 ]; then
        echo "services: could not $ACTION: ${failed[*]} (see above)" >&2
        exit 1
    fi
fi
