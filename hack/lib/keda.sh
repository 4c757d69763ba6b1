# KEDA in the local stack: the operator and its metrics API server (v$KEDA_VERSION, built from the
# Go module proxy), served to the API server's aggregation layer as external.metrics.k8s.io, so
# the controller manager's HPA controller really scales Deployments on queue depth. Sourced by
# local-*.sh after stack.sh.
#
# Both run inside a network namespace the stack makes, attached to the exec node's bridge: KEDA
# binds some ports on every interface, and there they are the namespace's own. From inside, the
# API server and SQS are reached at the node address (the stack's DNAT), and the API server
# reaches the metrics server at KEDA_IP (an APIService's endpoint may not be loopback).

KEDA_BIN=$SLUICE_CACHE/keda/$KEDA_VERSION/bin
KEDA_NETNS=sluice-keda-$STACK_ID
KEDA_IP=10.250.$NODE_INDEX.2
KEDA_VETH=slkeda$NODE_INDEX
KEDA_CONF_DIR=$STATE_DIR/keda
KEDA_NAMESPACE=keda
KEDA_METRICS_SERVER_PORT=6443

keda_in_netns() { ip netns exec "$KEDA_NETNS" "$@"; }

keda_network_up() {
  ip netns list | grep -qw "$KEDA_NETNS" || ip netns add "$KEDA_NETNS"
  # A veth of this name whose peer is not in our namespace was left by another stack (or a killed
  # one) on the same port offset: replace it rather than trust it.
  if ! keda_in_netns ip link show eth0 >/dev/null 2>&1; then
    ip link del "$KEDA_VETH" 2>/dev/null || true
    ip link add "$KEDA_VETH" type veth peer name eth0 netns "$KEDA_NETNS"
  fi
  ip link set "$KEDA_VETH" master "$NODE_BRIDGE" up
  keda_in_netns ip addr replace "$KEDA_IP/24" dev eth0
  keda_in_netns ip link set lo up
  keda_in_netns ip link set eth0 up
  keda_in_netns ip route replace default via "$NODE_IP"
}

keda_network_down() {
  ip link del "$KEDA_VETH" 2>/dev/null || true
  ip netns del "$KEDA_NETNS" 2>/dev/null || true
}

# Certificates: one serving/mTLS pair for the operator's gRPC service and the metrics server (the
# names the aggregator and the adapter check), and a client identity for both towards the API server.
keda_pki() {
  sign_cert keda-serving "/CN=keda-operator" \
    "DNS:keda-operator.$KEDA_NAMESPACE.svc,DNS:keda-operator.$KEDA_NAMESPACE.svc.cluster.local,DNS:keda-metrics-apiserver.$KEDA_NAMESPACE.svc,DNS:keda-metrics-apiserver.$KEDA_NAMESPACE.svc.cluster.local,IP:127.0.0.1,IP:$KEDA_IP"
  sign_cert keda-client "/CN=system:keda/O=sluice:keda"
  mkdir -p "$KEDA_CONF_DIR/certs"
  cp "$PKI_DIR/ca.crt" "$KEDA_CONF_DIR/certs/ca.crt"
  cp "$PKI_DIR/keda-serving.crt" "$KEDA_CONF_DIR/certs/tls.crt"
  cp "$PKI_DIR/keda-serving.key" "$KEDA_CONF_DIR/certs/tls.key"
  write_client_kubeconfig "$KEDA_CONF_DIR/kubeconfig" keda-client
  # From inside the namespace the API server is at the node address.
  sed -i "s|https://127.0.0.1:$APISERVER_PORT|https://$NODE_IP:$APISERVER_PORT|" "$KEDA_CONF_DIR/kubeconfig"
}

# KEDA's namespace and identity, and the APIService (its CRDs: apply_third_party_crds, local-up.sh).
keda_api_objects() {
  sed -e "s|@NAMESPACE@|$KEDA_NAMESPACE|g" -e "s|@KEDA_IP@|$KEDA_IP|g" -e "s|@PORT@|$KEDA_METRICS_SERVER_PORT|g" \
    -e "s|@CA_BUNDLE@|$(base64 -w0 < "$PKI_DIR/ca.crt")|g" "$HACK_DIR/keda/keda.yaml" | kubectl_admin apply -f - >/dev/null
}

# launch_in_keda_netns NAME CMD...: launch, with the command recorded as it runs after the exec.
launch_in_keda_netns() {
  local name=$1; shift
  LAUNCH_CMDLINE="$*" launch "$name" ip netns exec "$KEDA_NETNS" env KUBECONFIG="$KEDA_CONF_DIR/kubeconfig" \
    POD_NAMESPACE="$KEDA_NAMESPACE" KEDA_CLUSTER_OBJECT_NAMESPACE="$KEDA_NAMESPACE" WATCH_NAMESPACE= "$@"
}

start_keda() {
  keda_pki
  keda_network_up
  keda_api_objects
  launch_in_keda_netns keda-operator "$KEDA_BIN/keda" --leader-elect=false \
    --cert-dir "$KEDA_CONF_DIR/certs" --enable-cert-rotation=false \
    --enable-webhook-patching=false --enable-apiservice-patching=false \
    --metrics-bind-address 127.0.0.1:8090 --health-probe-bind-address 127.0.0.1:8081 \
    --metrics-service-bind-address 127.0.0.1:9666 --zap-log-level=info
  launch_in_keda_netns keda-metrics "$KEDA_BIN/keda-adapter" \
    --secure-port "$KEDA_METRICS_SERVER_PORT" --cert-dir "$KEDA_CONF_DIR/certs" \
    --tls-cert-file "$KEDA_CONF_DIR/certs/tls.crt" --tls-private-key-file "$KEDA_CONF_DIR/certs/tls.key" \
    --lister-kubeconfig "$KEDA_CONF_DIR/kubeconfig" --authentication-kubeconfig "$KEDA_CONF_DIR/kubeconfig" \
    --authorization-kubeconfig "$KEDA_CONF_DIR/kubeconfig" \
    --metrics-service-address 127.0.0.1:9666 --metrics-service-grpc-authority "keda-operator.$KEDA_NAMESPACE.svc.cluster.local" \
    --port 8080 --zap-log-level=info
  for c in keda-operator keda-metrics; do wait_healthy "$c" 120; done
}

# The APIService goes with the metrics server: an unavailable one makes every client's discovery fail.
stop_keda_api() {
  kubectl_admin delete apiservice v1beta1.external.metrics.k8s.io --ignore-not-found >/dev/null 2>&1 || true
}
