#!/usr/bin/env bash
# PostgreSQL and RabbitMQ for an AiiDA `core.psql_dos` profile, from Debian packages, on a machine without systemd.
#
#   setup/services.sh start  [postgres|rabbitmq|all]   install if missing, configure, start (idempotent)
#   setup/services.sh stop   [postgres|rabbitmq|all]
#   setup/services.sh status [postgres|rabbitmq|all]
#
# Needs root (or sudo) for start/stop. What `start` does:
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
set -euo pipefail

ACTION=${1:-status}
WHAT=${2:-all}
CONFIG_DIR=${POLYINF_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/aiida-polyinf}
PG_ENV="$CONFIG_DIR/postgres.env"
RABBIT_ADVANCED=/etc/rabbitmq/advanced.config
LOCALE=en_US.UTF-8

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if [ "$ACTION" != status ]; then
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

# ---------------------------------------------------------------------------------------------------------------- main
case "$WHAT" in postgres | rabbitmq | all) ;; *) echo "usage: $0 start|stop|status [postgres|rabbitmq|all]" >&2; exit 2 ;; esac
case "$ACTION" in
    start)
        [ "$WHAT" = rabbitmq ] || pg_start
        [ "$WHAT" = postgres ] || rabbit_start
        ;;
    stop)
        [ "$WHAT" = postgres ] || rabbit_stop
        [ "$WHAT" = rabbitmq ] || pg_stop
        ;;
    status)
        [ "$WHAT" = rabbitmq ] || pg_status
        [ "$WHAT" = postgres ] || rabbit_status
        ;;
    *)
        echo "usage: $0 start|stop|status [postgres|rabbitmq|all]" >&2
        exit 2
        ;;
esac
