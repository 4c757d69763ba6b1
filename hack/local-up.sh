#!/usr/bin/env bash
# Brings up the real local stack: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kwok (fake CPU and GPU nodes), the exec node (containerd, kubelet, kube-proxy: real containers),
# ElasticMQ (SQS), moto (S3, SES, DynamoDB), a MongoDB-wire server and PostgreSQL.
# Idempotent: installs what is not cached, starts what is not running, waits until each is healthy,
# then writes .local/env. Every server listens on 127.0.0.1 only. A start that fails part-way
# stops what it started, so no half-started process is mistaken for a healthy one next time.
set -euo pipefail
source "$(dirname "$0")/lib/stack.sh"

bash "$HACK_DIR/lib/install.sh"
mkdir -p "$LOG_DIR" "$PID_DIR" "$PKI_DIR" "$DATA_DIR"

# The apiserver is reached on loopback, on the kubernetes Service IP (pods, through kube-proxy) and
# on the node address (pods, through the stack's DNAT).
APISERVER_SAN="IP:127.0.0.1,IP:10.96.0.1,IP:$NODE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"

make_pki() {
  if [ ! -f "$PKI_DIR/ca.crt" ]; then
    log "creating certificates and an admin token in $PKI_DIR"
    (
      cd "$PKI_DIR"
      openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=sluice-local-ca" \
        -keyout ca.key -out ca.crt 2>/dev/null
      openssl genrsa -out sa.key 2048 2>/dev/null
      openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
      echo "$(openssl rand -hex 24),admin,admin,system:masters" > tokens.csv
    )
  fi
  # A certificate from an older stack without the Service IP is made again.
  if ! openssl x509 -in "$PKI_DIR/apiserver.crt" -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:$NODE_IP"; then
    rm -f "$PKI_DIR/apiserver.crt"
  fi
  sign_cert apiserver "/CN=kube-apiserver" "$APISERVER_SAN"
  # The apiserver's identity towards kubelets (logs, exec) and aggregated API servers (KEDA's metrics).
  sign_cert apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client/O=system:masters"
  sign_cert front-proxy-client "/CN=front-proxy-client"
}

write_kubeconfig() {
  cat > "$KUBECONFIG_FILE" <<KC
apiVersion: v1
kind: Config
clusters:
- name: sluice-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI_DIR/ca.crt
users:
- name: admin
  user:
    token: $(admin_token)
contexts:
- name: sluice-local
  context: {cluster: sluice-local, user: admin}
current-context: sluice-local
KC
}

# Components this run started: on failure they are stopped again (newest first).
started_here=()
stop_started_on_failure() {
  local status=$?
  [ "$status" = 0 ] && return 0
  if [ ${#started_here[@]} -gt 0 ]; then
    local reversed=()
    for (( i=${#started_here[@]}-1; i>=0; i-- )); do reversed+=("${started_here[$i]}"); done
    log "local-up failed; stopping what it started: ${reversed[*]}"
    bash "$HACK_DIR/local-down.sh" "${reversed[@]}" >&2 || true
  fi
  exit "$status"
}
trap stop_started_on_failure EXIT

# A port held by a process this stack did not start is an error, never a healthy component.
assert_ports_free() {
  local name=$1 address holder
  for address in $(listen_addresses_of "$name"); do
    holder=$(ss -Hltnp "sport = :${address##*:}" 2>/dev/null | grep -oE 'pid=[0-9]+' | head -n 1 | cut -d= -f2 || true)
    [ -n "$holder" ] || continue
    die "$name cannot start: port ${address##*:} is held by pid $holder ($(tr '\0' ' ' < "/proc/$holder/cmdline" 2>/dev/null | cut -c1-120)), which this stack did not start. Stop it, or run this stack on other ports with SLUICE_PORT_OFFSET."
  done
}

# launch NAME CMD...: start CMD detached, recording its pid and command line.
launch() {
  local name=$1; shift
  if running "$name"; then return 0; fi
  assert_ports_free "$name"
  : > "$LOG_DIR/$name.log"
  setsid "$@" >> "$LOG_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$PID_DIR/$name.pid"
  echo "${LAUNCH_CMDLINE:-$*}" > "$PID_DIR/$name.cmd"
  started_here+=("$name")
  log "started $name (pid $!, port $(port_of "$name"))"
}

# wait_healthy NAME [SECONDS]: wait for the health check; on failure say why and where the log is.
wait_healthy() {
  local name=$1 limit=${2:-60} start=$SECONDS
  until kill -0 "$(pid_of "$name")" 2>/dev/null && healthy "$name"; do
    # Only liveness here: right after the fork the pid may not show the exec'd command line yet.
    if ! kill -0 "$(pid_of "$name")" 2>/dev/null; then
      log "ERROR: $name failed to start: its process exited. Last lines of $LOG_DIR/$name.log:"
      tail -n 25 "$LOG_DIR/$name.log" >&2
      exit 1
    fi
    if (( SECONDS - start > limit )); then
      log "ERROR: $name failed to start: not healthy after ${limit}s (port $(port_of "$name")). Last lines of $LOG_DIR/$name.log:"
      tail -n 25 "$LOG_DIR/$name.log" >&2
      exit 1
    fi
    sleep 0.3
  done
}

start_etcd() {
  launch etcd "$ETCD_BIN/etcd" --name sluice --data-dir "$DATA_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "sluice=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --quota-backend-bytes=4294967296 --log-level=warn
}

start_apiserver() {
  launch kube-apiserver "$KUBE_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$PKI_DIR/apiserver.crt" --tls-private-key-file "$PKI_DIR/apiserver.key" \
    --client-ca-file "$PKI_DIR/ca.crt" --token-auth-file "$PKI_DIR/tokens.csv" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --kubelet-preferred-address-types InternalIP,Hostname --kubelet-certificate-authority "$PKI_DIR/ca.crt" \
    --kubelet-client-certificate "$PKI_DIR/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI_DIR/apiserver-kubelet-client.key" \
    --requestheader-client-ca-file "$PKI_DIR/ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- --enable-aggregator-routing=true \
    --proxy-client-cert-file "$PKI_DIR/front-proxy-client.crt" --proxy-client-key-file "$PKI_DIR/front-proxy-client.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI_DIR/sa.pub" --service-account-signing-key-file "$PKI_DIR/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 --allow-privileged=true \
    --disable-admission-plugins TaintNodesByCondition \
    --profiling=false --v=1
}

# The Job controller and what a cluster needs around it: Deployments (the controller and
# dispatchers run as ones), ServiceAccounts and their tokens, EndpointSlices for kube-proxy, the
# HPA that KEDA drives, PDBs. No node-lifecycle controller: local-down deletes the exec node.
KCM_CONTROLLERS=job,garbagecollector,podgc,ttl-after-finished,namespace,deployment,replicaset,serviceaccount,serviceaccount-token,root-ca-cert-publisher,endpointslice,endpointslicemirroring,horizontalpodautoscaling,disruption

# Both use the admin kubeconfig, so delegated authn/authz of their health endpoints works.
start_controller_manager() {
  launch kube-controller-manager "$KUBE_BIN/kube-controller-manager" \
    --kubeconfig "$KUBECONFIG_FILE" --authentication-kubeconfig "$KUBECONFIG_FILE" \
    --authorization-kubeconfig "$KUBECONFIG_FILE" \
    --controllers "$KCM_CONTROLLERS" \
    --service-account-private-key-file "$PKI_DIR/sa.key" --root-ca-file "$PKI_DIR/ca.crt" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
    --cert-dir "$PKI_DIR/kcm" --kube-api-qps 200 --kube-api-burst 400 --concurrent-job-syncs 10 \
    --horizontal-pod-autoscaler-sync-period 5s \
    --v=1
}

start_scheduler() {
  launch kube-scheduler "$KUBE_BIN/kube-scheduler" \
    --kubeconfig "$KUBECONFIG_FILE" --authentication-kubeconfig "$KUBECONFIG_FILE" \
    --authorization-kubeconfig "$KUBECONFIG_FILE" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" \
    --cert-dir "$PKI_DIR/scheduler" --kube-api-qps 200 --kube-api-burst 400 --v=1
}

start_kwok() {
  launch kwok "$KWOK_BIN/kwok" --kubeconfig "$KUBECONFIG_FILE" \
    --config "$HACK_DIR/kwok/stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr 10.244.0.1/16 --node-ip 10.240.0.1 \
    --server-address "127.0.0.1:$KWOK_PORT"
}

start_aws() {
  launch aws "$MOTO_VENV/bin/python" "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$AWS_PORT"
}

# SQS is ElasticMQ: moto's SQS scans the whole queue on every send, which makes bursts of a few
# thousand messages quadratic. moto still serves S3, SES and DynamoDB. Only the JVM's quick (C1)
# compiler: with the optimizing one a fresh ElasticMQ spent 2.5 ms of CPU a message on its first
# 2,000 and still 1.2 ms after 10,000, compiling; with C1 only 1.0, then 0.5 from the third
# thousand on (docs/benchmarks.md). On two cores that CPU is taken from the API server.
start_sqs() {
  launch sqs java -Xmx512m -XX:TieredStopAtLevel=1 -DSLUICE_SQS_PORT="$SQS_PORT" -DSLUICE_SQS_DB="jdbc:h2:$DATA_DIR/sqs" -Dconfig.file="$HACK_DIR/elasticmq/elasticmq.conf" \
    -cp "$ELASTICMQ_JARS/*" org.elasticmq.server.Main
}

start_mongo() {
  launch mongo java -Xmx512m -cp "$MONGO_JARS/*" "$HACK_DIR/mongo/MongoWireServer.java" \
    127.0.0.1 "$MONGO_PORT" "$DATA_DIR/mongo.mv"
}

start_postgres() {
  local bin; bin=$(pg_bin) || die "PostgreSQL is not installed (hack/lib/install-apt.sh postgresql)"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "creating the PostgreSQL cluster in $PG_DATA"
    rm -rf "$PG_DATA"
    mkdir -p -m 755 "$(dirname "$PG_DATA")"
    mkdir -m 700 "$PG_DATA"
    [ ${#AS_POSTGRES[@]} -eq 0 ] || chown postgres: "$PG_DATA"
    "${AS_POSTGRES[@]}" "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --no-locale \
      > "$LOG_DIR/postgres-initdb.log" 2>&1 || die "initdb failed; see $LOG_DIR/postgres-initdb.log"
  fi
  # A postmaster whose recorded parent is gone still holds the data directory: stop it first.
  running postgres || stop_postgres
  # No Unix socket (-k ''): clients use TCP, and no system socket directory is needed. fsync off
  # like etcd's: a test database.
  launch postgres "${AS_POSTGRES[@]}" "$bin/postgres" -D "$PG_DATA" -h 127.0.0.1 -p "$POSTGRES_PORT" -k '' \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off
}

# The sluice database, created once; tests and examples make their own tables in it.
ensure_postgres_database() {
  local psql=("$(pg_bin)/psql" -X -q -t -A -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d postgres)
  [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'sluice'")" = 1 ] ||
    "${psql[@]}" -c 'CREATE DATABASE sluice' >/dev/null
}

# KEDA's and Prometheus Operator's CRDs (vendored), once, before KEDA starts. Server-side: the
# ScaledJob CRD is too big for the last-applied annotation.
apply_third_party_crds() {
  kubectl_local apply --server-side --force-conflicts -f "$THIRD_PARTY_CRDS/keda" -f "$THIRD_PARTY_CRDS/prometheus-operator" >/dev/null
}

kubectl_local() {
  local kubectl=kubectl
  [ -x "$KUBE_BIN/kubectl" ] && kubectl=$KUBE_BIN/kubectl
  "$kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"
}

start_kubernetes() {
  make_pki
  write_kubeconfig
  start_etcd
  wait_healthy etcd
  start_apiserver
  wait_healthy kube-apiserver 90
  start_controller_manager
  start_scheduler
  start_kwok
  kubectl_local apply -f "$HACK_DIR/kwok/nodes.yaml" >/dev/null
  for c in kube-controller-manager kube-scheduler kwok; do wait_healthy "$c" 90; done
  apply_third_party_crds
  if $EXEC_NODE; then start_exec_node; fi
  if $KEDA; then start_keda; fi
}

start=$SECONDS
start_sqs
start_aws
start_mongo
start_postgres
if [ -n "${SLUICE_EXTERNAL_KUBECONFIG:-}" ]; then
  cp "$SLUICE_EXTERNAL_KUBECONFIG" "$KUBECONFIG_FILE"
  apply_third_party_crds
else
  start_kubernetes
fi
for c in "${SERVICE_COMPONENTS[@]}"; do wait_healthy "$c" 90; done
ensure_postgres_database
kubectl_local wait --for=condition=Ready node --all --timeout=60s >/dev/null

# Written whole, then renamed: tests read it while another local-up (an outage test) rewrites it.
cat > "$ENV_FILE.tmp" <<ENV
# Written by hack/local-up.sh; source it to talk to the local stack.
export KUBECONFIG=$KUBECONFIG_FILE
export AWS_ENDPOINT_URL=http://127.0.0.1:$AWS_PORT
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$SQS_PORT
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export MONGODB_URI=mongodb://127.0.0.1:$MONGO_PORT
export POSTGRES_URI=postgres://postgres@127.0.0.1:$POSTGRES_PORT/sluice
ENV
if $EXEC_NODE; then
  cat >> "$ENV_FILE.tmp" <<ENV
# The exec node: pods there reach the stack's servers at SLUICE_NODE_IP:<the same port>.
export SLUICE_EXEC_NODE_NAME=$NODE_NAME
export SLUICE_NODE_IP=$NODE_IP
ENV
fi
[ -x "$KUBE_BIN/kubectl" ] && echo "export PATH=$KUBE_BIN:\$PATH" >> "$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"
log "local stack up in $((SECONDS - start))s; source $ENV_FILE"
