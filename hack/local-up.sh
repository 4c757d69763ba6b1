#!/usr/bin/env bash
# Brings up the real local stack: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kwok (fake CPU and GPU nodes), moto (SQS, S3, SES, DynamoDB), a MongoDB-wire server and PostgreSQL.
# Idempotent: installs what is not cached, starts what is not running, waits until each is healthy,
# then writes .local/env. Every server listens on 127.0.0.1 only.
set -euo pipefail
source "$(dirname "$0")/lib/stack.sh"

bash "$HACK_DIR/lib/install.sh"
mkdir -p "$LOG_DIR" "$PID_DIR" "$PKI_DIR" "$DATA_DIR"

make_pki() {
  [ -f "$PKI_DIR/apiserver.crt" ] && return 0
  log "creating certificates and an admin token in $PKI_DIR"
  (
    cd "$PKI_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=sluice-local-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key \
      -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n' > san.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile san.ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    echo "$(openssl rand -hex 24),admin,admin,system:masters" > tokens.csv
  )
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

# launch NAME CMD...: start CMD detached, recording its pid and command line.
launch() {
  local name=$1; shift
  if running "$name"; then return 0; fi
  : > "$LOG_DIR/$name.log"
  setsid "$@" >> "$LOG_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$PID_DIR/$name.pid"
  echo "$*" > "$PID_DIR/$name.cmd"
  log "started $name (pid $!, port $(port_of "$name"))"
}

# wait_healthy NAME [SECONDS]: wait for the health check; on failure say why and where the log is.
wait_healthy() {
  local name=$1 limit=${2:-60} start=$SECONDS
  until healthy "$name"; do
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
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI_DIR/sa.pub" --service-account-signing-key-file "$PKI_DIR/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 --allow-privileged=true \
    --disable-admission-plugins ServiceAccount,TaintNodesByCondition \
    --profiling=false --v=1
}

# Both use the admin kubeconfig, so delegated authn/authz of their health endpoints works.
start_controller_manager() {
  launch kube-controller-manager "$KUBE_BIN/kube-controller-manager" \
    --kubeconfig "$KUBECONFIG_FILE" --authentication-kubeconfig "$KUBECONFIG_FILE" \
    --authorization-kubeconfig "$KUBECONFIG_FILE" \
    --controllers job,garbagecollector,podgc,ttl-after-finished,namespace \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
    --cert-dir "$PKI_DIR/kcm" --kube-api-qps 200 --kube-api-burst 400 --concurrent-job-syncs 10 \
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
# thousand messages quadratic. moto still serves S3, SES and DynamoDB.
start_sqs() {
  launch sqs java -Xmx512m -DSLUICE_SQS_PORT="$SQS_PORT" -Dconfig.file="$HACK_DIR/elasticmq/elasticmq.conf" \
    -cp "$ELASTICMQ_JARS/*" org.elasticmq.server.Main
}

start_mongo() {
  launch mongo java -Xmx512m -cp "$MONGO_JARS/*" "$HACK_DIR/mongo/MongoWireServer.java" \
    127.0.0.1 "$MONGO_PORT" "$DATA_DIR/mongo.mv"
}

start_postgres() {
  local bin; bin=$(pg_bin) || die "PostgreSQL is not installed (hack/lib/install-postgres.sh)"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "creating the PostgreSQL cluster in $PG_DATA"
    rm -rf "$PG_DATA"
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
}

start=$SECONDS
start_sqs
start_aws
start_mongo
start_postgres
if [ -n "${SLUICE_EXTERNAL_KUBECONFIG:-}" ]; then
  cp "$SLUICE_EXTERNAL_KUBECONFIG" "$KUBECONFIG_FILE"
else
  start_kubernetes
fi
third_party_crds=$REPO_ROOT/../shared/crds
if [ -d "$third_party_crds" ]; then
  # Server-side: the ScaledJob CRD is too big for the last-applied annotation.
  kubectl_local apply --server-side --force-conflicts -f "$third_party_crds/keda" \
    -f "$third_party_crds/prometheus-operator" >/dev/null
fi
for c in "${SERVICE_COMPONENTS[@]}"; do wait_healthy "$c" 90; done
ensure_postgres_database
kubectl_local wait --for=condition=Ready node --all --timeout=60s >/dev/null

cat > "$ENV_FILE" <<ENV
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
[ -x "$KUBE_BIN/kubectl" ] && echo "export PATH=$KUBE_BIN:\$PATH" >> "$ENV_FILE"
log "local stack up in $((SECONDS - start))s; source $ENV_FILE"
