# The local stack's layout: ports, state paths and component names. Sourced by local-*.sh.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# A second stack (another checkout) can run beside this one by shifting every port.
PORT_OFFSET=${SLUICE_PORT_OFFSET:-0}
ETCD_PORT=$((23790 + PORT_OFFSET))
ETCD_PEER_PORT=$((23800 + PORT_OFFSET))
APISERVER_PORT=$((16443 + PORT_OFFSET))
KCM_PORT=$((16457 + PORT_OFFSET))
SCHEDULER_PORT=$((16459 + PORT_OFFSET))
KWOK_PORT=$((16447 + PORT_OFFSET))
AWS_PORT=$((15000 + PORT_OFFSET))
SQS_PORT=$((19324 + PORT_OFFSET))
MONGO_PORT=$((27018 + PORT_OFFSET))
POSTGRES_PORT=$((15432 + PORT_OFFSET))

STATE_DIR=${SLUICE_STATE_DIR:-$REPO_ROOT/.local}
LOG_DIR=$STATE_DIR/logs
PID_DIR=$STATE_DIR/pids
PKI_DIR=$STATE_DIR/pki
DATA_DIR=$STATE_DIR/data
KUBECONFIG_FILE=$STATE_DIR/kubeconfig
ENV_FILE=$STATE_DIR/env

KUBE_BIN=$SLUICE_CACHE/kube/$KUBE_VERSION/bin
ETCD_BIN=$SLUICE_CACHE/etcd/$ETCD_VERSION/bin
KWOK_BIN=$SLUICE_CACHE/kwok/$KWOK_VERSION/bin
MOTO_VENV=$SLUICE_CACHE/moto/$MOTO_VERSION
MONGO_JARS=$SLUICE_CACHE/mongo-java-server/$MONGO_JAVA_SERVER_VERSION
ELASTICMQ_JARS=$SLUICE_CACHE/elasticmq/$ELASTICMQ_VERSION
# State that root's services must reach even when the checkout sits under a home directory other
# users cannot enter (mode 700): PostgreSQL (run as the postgres OS user) and the exec node. One
# directory per checkout, outside it.
STACK_ID=$(printf '%s' "$STATE_DIR" | sha256sum | cut -c1-10)
STACK_LIB_DIR=/var/lib/sluice/$STACK_ID
if [ "$(id -u)" = 0 ]; then PG_DATA=$STACK_LIB_DIR/postgres; else PG_DATA=$DATA_DIR/postgres; fi

# Start order; local-down stops in reverse. With SLUICE_EXTERNAL_KUBECONFIG (kind, a real
# cluster) only the AWS endpoints and the databases run here.
# The exec node (real containers) needs root for containerd and iptables, and kube-proxy's chains
# are global, so it runs only in the first stack on a machine unless SLUICE_EXEC_NODE says otherwise.
KUBE_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
if [ "${SLUICE_EXEC_NODE:-$([ "$PORT_OFFSET" = 0 ] && [ "$(id -u)" = 0 ] && echo 1 || echo 0)}" = 1 ]; then
  EXEC_NODE=true
  KUBE_COMPONENTS+=(containerd kubelet kube-proxy)
else
  EXEC_NODE=false
fi
# KEDA lives on the exec node's bridge (see keda.sh).
if $EXEC_NODE && [ "${SLUICE_KEDA:-1}" = 1 ]; then
  KEDA=true
  KUBE_COMPONENTS+=(keda-operator keda-metrics)
else
  KEDA=false
fi
SERVICE_COMPONENTS=(sqs aws mongo postgres)
if [ -n "${SLUICE_EXTERNAL_KUBECONFIG:-}" ]; then
  EXEC_NODE=false KEDA=false
  COMPONENTS=("${SERVICE_COMPONENTS[@]}")
else
  COMPONENTS=("${KUBE_COMPONENTS[@]}" "${SERVICE_COMPONENTS[@]}")
fi

pid_of() { cat "$PID_DIR/$1.pid" 2>/dev/null; }

# running NAME: its recorded process is alive and still the one we started (pids get reused).
running() {
  local pid; pid=$(pid_of "$1") || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  local expected; expected=$(cat "$PID_DIR/$1.cmd" 2>/dev/null) || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$expected"
}

# PostgreSQL is Debian's server (apt's postgresql package), newest major version installed.
pg_bin() {
  local dir; dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && echo "$dir"
}

# PostgreSQL refuses to run as root, so root runs it as the postgres OS user.
if [ "$(id -u)" = 0 ]; then AS_POSTGRES=(runuser -u postgres --); else AS_POSTGRES=(); fi

# A postmaster serves PG_DATA, whether or not local-up.sh's pid file still points at it.
postgres_serving() {
  local bin; bin=$(pg_bin) || return 1
  [ -f "$PG_DATA/postmaster.pid" ] && "${AS_POSTGRES[@]}" "$bin/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

# Fast shutdown: SIGTERM would wait for every client (test pools) to disconnect.
stop_postgres() {
  postgres_serving || return 0
  "${AS_POSTGRES[@]}" "$(pg_bin)/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 30 >/dev/null
}

admin_token() { cut -d, -f1 "$PKI_DIR/tokens.csv"; }

source "$(dirname "${BASH_SOURCE[0]}")/exec-node.sh"
source "$(dirname "${BASH_SOURCE[0]}")/keda.sh"

# healthy NAME: the component answers its health check.
healthy() {
  case $1 in
    etcd) curl -fsS "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"' ;;
    kube-apiserver) curl -fsS --cacert "$PKI_DIR/ca.crt" -H "Authorization: Bearer $(admin_token)" \
      "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null 2>&1 ;;
    kube-controller-manager) curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz" >/dev/null 2>&1 ;;
    kube-scheduler) curl -fsSk "https://127.0.0.1:$SCHEDULER_PORT/healthz" >/dev/null 2>&1 ;;
    kwok) curl -fsS "http://127.0.0.1:$KWOK_PORT/healthz" >/dev/null 2>&1 ;;
    aws) curl -fsS "http://127.0.0.1:$AWS_PORT/moto-api/" >/dev/null 2>&1 ;;
    sqs) curl -fsS -X POST -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: AmazonSQS.ListQueues' \
      -d '{}' "http://127.0.0.1:$SQS_PORT/" >/dev/null 2>&1 ;;
    mongo) (exec 3<>"/dev/tcp/127.0.0.1/$MONGO_PORT") 2>/dev/null ;;
    postgres) "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres 2>/dev/null ;;
    containerd) ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1 ;;
    kubelet) curl -fsS "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz" >/dev/null 2>&1 ;;
    kube-proxy) curl -fsS "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/livez" >/dev/null 2>&1 ;;
    keda-operator) ip netns exec "$KEDA_NETNS" curl -fsS http://127.0.0.1:8081/healthz >/dev/null 2>&1 ;;
    # Through the aggregation layer, as the HPA controller asks.
    keda-metrics) curl -fsS --cacert "$PKI_DIR/ca.crt" -H "Authorization: Bearer $(admin_token)" \
      "https://127.0.0.1:$APISERVER_PORT/apis/external.metrics.k8s.io/v1beta1" >/dev/null 2>&1 ;;
  esac
}

port_of() {
  case $1 in
    etcd) echo "$ETCD_PORT" ;; kube-apiserver) echo "$APISERVER_PORT" ;;
    kube-controller-manager) echo "$KCM_PORT" ;; kube-scheduler) echo "$SCHEDULER_PORT" ;;
    kwok) echo "$KWOK_PORT" ;; aws) echo "$AWS_PORT" ;; sqs) echo "$SQS_PORT" ;; mongo) echo "$MONGO_PORT" ;;
    postgres) echo "$POSTGRES_PORT" ;; containerd) echo "-" ;; kubelet) echo "$KUBELET_PORT" ;;
    kube-proxy) echo "$KUBE_PROXY_HEALTHZ_PORT" ;; keda-operator) echo "-" ;;
    keda-metrics) echo "$KEDA_IP:$KEDA_METRICS_SERVER_PORT" ;;
  esac
}

# Every TCP port a component listens on, as HOST:PORT (checked free before it starts).
listen_addresses_of() {
  case $1 in
    etcd) echo "127.0.0.1:$ETCD_PORT 127.0.0.1:$ETCD_PEER_PORT" ;;
    kubelet) echo "$NODE_IP:$KUBELET_PORT 127.0.0.1:$KUBELET_HEALTHZ_PORT" ;;
    kube-proxy) echo "127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT 127.0.0.1:$KUBE_PROXY_METRICS_PORT" ;;
    containerd|keda-*) ;;
    *) echo "127.0.0.1:$(port_of "$1")" ;;
  esac
}

version_of() {
  case $1 in
    etcd) echo "$ETCD_VERSION" ;;
    kube-*|kubelet) echo "$KUBE_VERSION" ;;
    keda-*) echo "keda $KEDA_VERSION" ;;
    containerd) containerd --version 2>/dev/null | awk '{print "containerd " $3}' ;;
    kwok) echo "$KWOK_VERSION" ;;
    aws) echo "moto $MOTO_VERSION" ;;
    sqs) echo "elasticmq $ELASTICMQ_VERSION" ;;
    mongo) echo "mongo-java-server $MONGO_JAVA_SERVER_VERSION" ;;
    postgres) "$(pg_bin)/postgres" --version 2>/dev/null | sed -E 's/^postgres \(PostgreSQL\) ([0-9.]+).*/PostgreSQL \1/' ;;
  esac
}
