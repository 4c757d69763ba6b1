# The exec node: one real node (containerd + runc + CNI bridge, kubelet, kube-proxy) beside the kwok
# pools, so pods that select `pool=exec` and tolerate its taint run real containers. Sourced by
# local-*.sh after stack.sh.
#
# Networking stays on this machine: the node's address lives on a bridge the stack creates (no
# other host is ever addressed), pods get addresses on that bridge, and iptables rules send pod
# traffic for the stack's servers (which listen on 127.0.0.1 only) to loopback and drop anything
# that would leave the bridge. kube-proxy programs Service ClusterIPs as in any cluster.

NODE_NAME=exec-node-0
NODE_INDEX=$((PORT_OFFSET / 100))
NODE_BRIDGE=sluice$NODE_INDEX
NODE_SUBNET=10.250.$NODE_INDEX.0/24
NODE_IP=10.250.$NODE_INDEX.1
NODE_TAINT=sluice.dev/exec-node
KUBERNETES_SERVICE_IP=10.96.0.1
KUBELET_PORT=10250
KUBELET_HEALTHZ_PORT=$((16448 + PORT_OFFSET))
KUBE_PROXY_HEALTHZ_PORT=$((16449 + PORT_OFFSET))
KUBE_PROXY_METRICS_PORT=$((16450 + PORT_OFFSET))
SANDBOX_IMAGE=sluice.local/pause:$KUBE_VERSION
# Node state outside the checkout: unix sockets have a 108-byte path limit, and the kubelet's
# mounts must not live under a directory other users cannot enter.
NODE_RUN_DIR=/run/sluice/$STACK_ID
NODE_LIB_DIR=$STACK_LIB_DIR/node
NODE_CONF_DIR=$STATE_DIR/node
CONTAINERD_SOCK=$NODE_RUN_DIR/containerd.sock
NAT_CHAIN=SLUICE-$STACK_ID-NAT
FWD_CHAIN=SLUICE-$STACK_ID-FWD

ctr_local() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# The stack's servers that pods reach at NODE_IP:<same port>.
pod_reachable_ports() { echo "$APISERVER_PORT $SQS_PORT $AWS_PORT $MONGO_PORT $POSTGRES_PORT"; }

# sign_cert NAME SUBJECT [SAN]: a key and certificate signed by the stack's CA, once.
sign_cert() {
  local name=$1 subject=$2 san=${3:-}
  [ -f "$PKI_DIR/$name.crt" ] && return 0
  (
    cd "$PKI_DIR"
    openssl req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$name.key" -out "$name.csr" 2>/dev/null
    local ext=()
    if [ -n "$san" ]; then printf 'subjectAltName=%s\n' "$san" > "$name.ext"; ext=(-extfile "$name.ext"); fi
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 "${ext[@]}" -out "$name.crt" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
  )
}

# write_client_kubeconfig FILE CERT_NAME: a kubeconfig authenticating with a client certificate.
write_client_kubeconfig() {
  cat > "$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: sluice-local
  cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$PKI_DIR/ca.crt"}
users:
- name: $2
  user: {client-certificate: "$PKI_DIR/$2.crt", client-key: "$PKI_DIR/$2.key"}
contexts:
- name: sluice-local
  context: {cluster: sluice-local, user: $2}
current-context: sluice-local
KC
}

node_pki() {
  sign_cert kubelet "/CN=system:node:$NODE_NAME/O=system:nodes"
  sign_cert kubelet-serving "/CN=$NODE_NAME" "IP:$NODE_IP,DNS:$NODE_NAME"
  sign_cert kube-proxy "/CN=system:kube-proxy"
  mkdir -p "$NODE_CONF_DIR"
  write_client_kubeconfig "$NODE_CONF_DIR/kubelet.kubeconfig" kubelet
  write_client_kubeconfig "$NODE_CONF_DIR/kube-proxy.kubeconfig" kube-proxy
}

node_network_up() {
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODE_BRIDGE" type bridge
  fi
  ip addr replace "$NODE_IP/24" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  # Pod traffic to a Service is DNATed by kube-proxy and routed back onto the bridge; pod traffic
  # to NODE_IP:<port> is DNATed to the loopback servers.
  sysctl -qw net.ipv4.ip_forward=1 "net.ipv4.conf.$NODE_BRIDGE.route_localnet=1" net.bridge.bridge-nf-call-iptables=1
  iptables -t nat -N "$NAT_CHAIN" 2>/dev/null || iptables -t nat -F "$NAT_CHAIN"
  for port in $(pod_reachable_ports); do
    iptables -t nat -A "$NAT_CHAIN" -d "$NODE_IP" -p tcp --dport "$port" -j DNAT --to-destination "127.0.0.1:$port"
  done
  # The kubernetes Service has no endpoints (the apiserver does not publish a loopback address, and
  # Endpoints may not hold one), so the stack routes it itself, for pods and host-network pods.
  iptables -t nat -A "$NAT_CHAIN" -d "$KUBERNETES_SERVICE_IP" -p tcp --dport 443 -j DNAT --to-destination "127.0.0.1:$APISERVER_PORT"
  iptables -t nat -C PREROUTING -i "$NODE_BRIDGE" -j "$NAT_CHAIN" 2>/dev/null ||
    iptables -t nat -I PREROUTING -i "$NODE_BRIDGE" -j "$NAT_CHAIN"
  # This machine's own processes (the controller run by hand, KEDA's namespace, tests) use the same
  # addresses as pods do.
  for destination in "$KUBERNETES_SERVICE_IP" "$NODE_IP"; do
    iptables -t nat -C OUTPUT -d "$destination" -j "$NAT_CHAIN" 2>/dev/null ||
      iptables -t nat -I OUTPUT -d "$destination" -j "$NAT_CHAIN"
  done
  # Nothing from a pod leaves the bridge: all traffic stays on this machine.
  iptables -N "$FWD_CHAIN" 2>/dev/null || iptables -F "$FWD_CHAIN"
  iptables -A "$FWD_CHAIN" -o "$NODE_BRIDGE" -j ACCEPT
  iptables -A "$FWD_CHAIN" -j DROP
  iptables -C FORWARD -i "$NODE_BRIDGE" -j "$FWD_CHAIN" 2>/dev/null ||
    iptables -I FORWARD -i "$NODE_BRIDGE" -j "$FWD_CHAIN"
}

node_network_down() {
  iptables -t nat -D PREROUTING -i "$NODE_BRIDGE" -j "$NAT_CHAIN" 2>/dev/null || true
  iptables -t nat -D OUTPUT -d "$KUBERNETES_SERVICE_IP" -j "$NAT_CHAIN" 2>/dev/null || true
  iptables -t nat -D OUTPUT -d "$NODE_IP" -j "$NAT_CHAIN" 2>/dev/null || true
  iptables -t nat -F "$NAT_CHAIN" 2>/dev/null && iptables -t nat -X "$NAT_CHAIN" 2>/dev/null || true
  iptables -D FORWARD -i "$NODE_BRIDGE" -j "$FWD_CHAIN" 2>/dev/null || true
  iptables -F "$FWD_CHAIN" 2>/dev/null && iptables -X "$FWD_CHAIN" 2>/dev/null || true
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
}

write_containerd_config() {
  mkdir -p "$NODE_CONF_DIR/cni" "$NODE_RUN_DIR" "$NODE_LIB_DIR"
  cat > "$NODE_CONF_DIR/containerd.toml" <<TOML
version = 2
root = "$NODE_LIB_DIR/containerd"
state = "$NODE_RUN_DIR/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$NODE_RUN_DIR/containerd-ttrpc.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_LIB_DIR/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$SANDBOX_IMAGE"
  # This VM lacks CAP_SYS_RESOURCE: without it every sandbox fails to start.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_CONF_DIR/cni"
TOML
  cat > "$NODE_CONF_DIR/cni/10-sluice.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "sluice",
  "plugins": [{
    "type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {
      "type": "host-local", "dataDir": "$NODE_LIB_DIR/cni-ipam",
      "ranges": [[{"subnet": "$NODE_SUBNET", "rangeStart": "10.250.$NODE_INDEX.10", "rangeEnd": "10.250.$NODE_INDEX.250", "gateway": "$NODE_IP"}]],
      "routes": [{"dst": "0.0.0.0/0"}]
    }
  }]
}
JSON
}

write_kubelet_config() {
  # No cluster DNS and no nameserver: pods cannot send queries off this machine.
  : > "$NODE_CONF_DIR/resolv.conf"
  cat > "$NODE_CONF_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: "$NODE_IP"
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: "$PKI_DIR/kubelet-serving.crt"
tlsPrivateKeyFile: "$PKI_DIR/kubelet-serving.key"
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI_DIR/ca.crt"}
authorization: {mode: Webhook}
containerRuntimeEndpoint: "unix://$CONTAINERD_SOCK"
cgroupDriver: cgroupfs
# This VM has hybrid cgroup v1; kubelet 1.35 refuses it unless told.
failCgroupV1: false
failSwapOn: false
resolvConf: "$NODE_CONF_DIR/resolv.conf"
clusterDomain: cluster.local
registerWithTaints:
- {key: "$NODE_TAINT", value: "true", effect: NoSchedule}
maxPods: 40
serializeImagePulls: false
# Images are imported, never pulled: garbage collection must not remove them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
containerLogMaxSize: 10Mi
volumePluginDir: "$NODE_LIB_DIR/volume-plugins"
YAML
}

start_containerd() {
  write_containerd_config
  launch containerd containerd --config "$NODE_CONF_DIR/containerd.toml"
}

# The sandbox image: Kubernetes' pause binary alone, imported (there is no registry).
import_sandbox_image() {
  ctr_local images ls -q | grep -qx "$SANDBOX_IMAGE" && return 0
  local dir; dir=$(mktemp -d)
  mkdir -p "$dir/rootfs" && cp "$KUBE_BIN/pause" "$dir/rootfs/pause"
  local ctr; ctr=$(buildah from --quiet scratch)
  buildah copy --quiet "$ctr" "$dir/rootfs/pause" /pause >/dev/null
  buildah config --entrypoint '["/pause"]' --user 65535:65535 "$ctr"
  buildah commit --quiet "$ctr" "$SANDBOX_IMAGE" >/dev/null
  buildah rm "$ctr" >/dev/null
  buildah push --quiet "$SANDBOX_IMAGE" "docker-archive:$dir/pause.tar:$SANDBOX_IMAGE"
  ctr_local images import --no-unpack=false "$dir/pause.tar" >/dev/null
  rm -rf "$dir"
}

start_kubelet() {
  write_kubelet_config
  launch kubelet "$KUBE_BIN/kubelet" --config "$NODE_CONF_DIR/kubelet.yaml" \
    --kubeconfig "$NODE_CONF_DIR/kubelet.kubeconfig" --root-dir "$NODE_LIB_DIR/kubelet" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --node-labels "pool=exec,type=exec,$NODE_TAINT=true" --v=1
}

start_kube_proxy() {
  launch kube-proxy "$KUBE_BIN/kube-proxy" --kubeconfig "$NODE_CONF_DIR/kube-proxy.kubeconfig" \
    --hostname-override "$NODE_NAME" --proxy-mode iptables --cluster-cidr "$NODE_SUBNET" \
    --bind-address 127.0.0.1 --healthz-bind-address "127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT" \
    --metrics-bind-address "127.0.0.1:$KUBE_PROXY_METRICS_PORT" \
    --nodeport-addresses "$NODE_IP/32" --conntrack-max-per-core 0 --v=1
}

start_exec_node() {
  node_pki
  node_network_up
  start_containerd
  wait_healthy containerd 60
  import_sandbox_image
  start_kubelet
  start_kube_proxy
  for c in kubelet kube-proxy; do wait_healthy "$c" 90; done
}

# Deletes the node's pods while the kubelet still runs, so their containers go with them.
drain_exec_node() {
  kubectl_admin get node "$NODE_NAME" >/dev/null 2>&1 || return 0
  running kubelet || return 0
  kubectl_admin cordon "$NODE_NAME" >/dev/null 2>&1 || true
  kubectl_admin delete pods --all-namespaces --field-selector "spec.nodeName=$NODE_NAME" \
    --grace-period=1 --wait=true --timeout=60s >/dev/null 2>&1 || true
}

# What the stopped node leaves behind: shims, mounts, iptables rules, the bridge.
clean_exec_node() {
  # Shims outlive containerd; their containers die with them.
  pkill -9 -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null || true
  pkill -9 -f "containerd-shim-runc-v2.*$STACK_ID" 2>/dev/null || true
  if [ -x "$KUBE_BIN/kube-proxy" ]; then "$KUBE_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true; fi
  grep -E " ($NODE_LIB_DIR|$NODE_RUN_DIR)/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  node_network_down
}

kubectl_admin() {
  [ -f "$KUBECONFIG_FILE" ] || return 1
  local kubectl=kubectl
  [ -x "$KUBE_BIN/kubectl" ] && kubectl=$KUBE_BIN/kubectl
  "$kubectl" --kubeconfig "$KUBECONFIG_FILE" --request-timeout=10s "$@"
}
