#!/usr/bin/env bash
# A PostgreSQL cluster and a RabbitMQ node of their own for benchmarks/faults.py, so that the faults it injects
# (stopping PostgreSQL or RabbitMQ) never touch the shared services of setup/services.sh that other runs use.
#   benchmarks/_isolated_services.sh start|stop|restart-pg|stop-rabbit|start-rabbit|delete
# PostgreSQL 15 cluster `polyinf_faults` on port 5433, RabbitMQ node polyinf-faults@localhost on port 5673 (the
# FAULTS_PGCLUSTER, FAULTS_PGPORT, FAULTS_RMQNODE, FAULTS_RMQPORT and FAULTS_BASE variables choose others).
# Credentials of the cluster's postgres role: $FAULTS_CONFIG/postgres.env (default /tmp/polyinf-faults/config).
set -euo pipefail
ACTION=${1:-status}
BASE=${FAULTS_BASE:-/tmp/polyinf-faults}
CONFIG=${FAULTS_CONFIG:-$BASE/config}
PGV=$(ls /usr/lib/postgresql | sort -n | tail -1)
PGC=${FAULTS_PGCLUSTER:-polyinf_faults}
PGPORT=${FAULTS_PGPORT:-5433}
RNODE=${FAULTS_RMQNODE:-polyinf-faults@localhost}
RPORT=${FAULTS_RMQPORT:-5673}
RDIR=$BASE/rabbitmq

RMQ_ENV=(env HOME=/var/lib/rabbitmq RABBITMQ_NODENAME=$RNODE RABBITMQ_NODE_PORT=$RPORT RABBITMQ_DIST_PORT=$((RPORT + 20000)) \
        RABBITMQ_MNESIA_BASE=$RDIR/mnesia RABBITMQ_LOG_BASE=$RDIR/log RABBITMQ_PID_FILE=$RDIR/pid \
        RABBITMQ_ENABLED_PLUGINS_FILE=$RDIR/enabled_plugins RABBITMQ_ADVANCED_CONFIG_FILE=/etc/rabbitmq/advanced.config \
        RABBITMQ_CONFIG_FILE=$RDIR/rabbitmq)
as_rmq() { runuser -u rabbitmq -- "${RMQ_ENV[@]}" "$@"; }

start_rabbit() {
    mkdir -p "$RDIR"/mnesia "$RDIR"/log; touch "$RDIR/enabled_plugins" "$RDIR/rabbitmq.conf"
    echo '[].' > "$RDIR/enabled_plugins"; chown -R rabbitmq: "$RDIR"
    as_rmq rabbitmq-server -detached
    # ping answers before the AMQP listener is up: wait for the port itself
    for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$RPORT) 2>/dev/null && return 0; sleep 1; done
    echo "rabbitmq node $RNODE did not start" >&2; return 1
}
stop_rabbit() { as_rmq rabbitmqctl -n $RNODE stop >/dev/null 2>&1 || true; }

start_pg() {
    pg_lsclusters --no-header | awk '{print $2}' | grep -qx $PGC || pg_createcluster "$PGV" $PGC -p "$PGPORT" >/dev/null
    pg_ctlcluster "$PGV" $PGC start 2>/dev/null || true
    for _ in $(seq 60); do pg_isready -q -h localhost -p "$PGPORT" && break; sleep 1; done
    mkdir -p "$CONFIG"; chmod 700 "$CONFIG"
    if [ ! -f "$CONFIG/postgres.env" ]; then
        (umask 077; printf 'PGHOST=localhost\nPGPORT=%s\nPGUSER=postgres\nPGPASSWORD=%s\n' "$PGPORT" \
            "$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)" > "$CONFIG/postgres.env")
    fi
    password=$(sed -n 's/^PGPASSWORD=//p' "$CONFIG/postgres.env")
    runuser -u postgres -- psql -q -X -p "$PGPORT" -d postgres >/dev/null <<SQL
ALTER ROLE postgres PASSWORD '$password';
SQL
}

case "$ACTION" in
    start) start_pg; start_rabbit; echo "isolated services: pg $PGPORT, rabbitmq $RPORT";;
    stop) stop_rabbit; pg_ctlcluster "$PGV" $PGC stop 2>/dev/null || true;;
    restart-pg) pg_ctlcluster "$PGV" $PGC restart;;
    stop-pg) pg_ctlcluster "$PGV" $PGC stop;;
    start-pg) pg_ctlcluster "$PGV" $PGC start;;
    stop-rabbit) stop_rabbit;;
    start-rabbit) start_rabbit;;
    delete) stop_rabbit; pg_dropcluster --stop "$PGV" $PGC 2>/dev/null || true; rm -rf "$BASE";;
    status) pg_lsclusters | grep $PGC || true; as_rmq rabbitmq-diagnostics -n $RNODE -q ping || true;;
esac
