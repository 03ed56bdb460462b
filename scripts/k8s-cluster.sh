#!/usr/bin/env bash
# A throwaway Kubernetes control plane on loopback for Apiary's Kubernetes tests: etcd (Debian's
# etcd-server), kube-apiserver, kube-controller-manager and kube-scheduler built from the Go module
# proxy at a pinned release, and kwok for fake nodes (pods move through phases without running).
#
#   scripts/k8s-cluster.sh build   build the binaries once into the cache (tens of minutes cold)
#   scripts/k8s-cluster.sh up      build when needed, start a cluster, print KUBECONFIG=<path>
#   scripts/k8s-cluster.sh down    stop the cluster started by `up` and remove its state
#
#   APIARY_CACHE      cache root (default: $HOME/.cache/apiary); binaries in $APIARY_CACHE/k8s/<version>
#   APIARY_K8S_STATE  the cluster's state folder (default: $TMPDIR/apiary-k8s)
set -euo pipefail
K8S_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
KWOK_VERSION=v0.8.0
cache="${APIARY_CACHE:-$HOME/.cache/apiary}/k8s/$K8S_VERSION"
state="${APIARY_K8S_STATE:-${TMPDIR:-/tmp}/apiary-k8s}"
STAGING=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
  kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller streaming)

say() { echo "[k8s-cluster] $*" >&2; }

build() {
  if [[ -x "$cache/kube-apiserver" && -x "$cache/kube-controller-manager" && -x "$cache/kube-scheduler" && -x "$cache/kwok" ]]; then
    return 0
  fi
  command -v go >/dev/null || { say "Go is needed to build the control plane (apt-get install golang-go, or https://go.dev/doc/install)"; exit 3; }
  mkdir -p "$cache"
  exec 9>"$cache.lock"
  flock 9
  local mod="$cache/src"
  if [[ ! -x "$cache/kube-apiserver" || ! -x "$cache/kube-controller-manager" || ! -x "$cache/kube-scheduler" ]]; then
    rm -rf "$mod" && mkdir -p "$mod"
    (
      cd "$mod"
      export GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
      go mod init apiary.local/k8s-control-plane >/dev/null 2>&1
      for s in "${STAGING[@]}"; do go mod edit -replace "k8s.io/$s=k8s.io/$s@$STAGING_VERSION"; done
      go mod edit -require "k8s.io/kubernetes@$K8S_VERSION"
      cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
      say "resolving k8s.io/kubernetes $K8S_VERSION (module proxy)"
      go mod tidy >&2
      for c in kube-apiserver kube-controller-manager kube-scheduler; do
        say "building $c"
        nice go build -p "$(nproc)" -o "$cache/$c" "k8s.io/kubernetes/cmd/$c" >&2
      done
    )
    rm -rf "$mod"
  fi
  if [[ ! -x "$cache/kwok" ]]; then
    say "building kwok $KWOK_VERSION"
    GOBIN="$cache" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" nice go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

down() {
  if [[ -f "$state/pids" ]]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$state/pids"
    sleep 1
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < "$state/pids"
  fi
  rm -rf "$state"
}

start() { # name, then the command: runs detached, logs to $state/<name>.log
  local name=$1; shift
  setsid nohup "$@" > "$state/$name.log" 2>&1 < /dev/null 8>&- 9>&- &
  echo $! >> "$state/pids"
}

wait_for() { # what, seconds, command…
  local what=$1 secs=$2; shift 2
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  say "$what did not come up in ${secs}s; logs in $state"
  tail -n 20 "$state"/*.log >&2 || true
  exit 1
}

up() {
  build
  # One `up` at a time: vitest runs test/k8s's files in parallel and each asks for the cluster; the
  # second waits here, then finds the first one's cluster ready (and etcd installed: two apt-gets
  # at once fail on dpkg's lock). start() closes this descriptor in the daemons it starts.
  mkdir -p "$(dirname "$state")"
  exec 8>"$state.lock"
  flock 8
  command -v etcd >/dev/null || {
    say "installing Debian's etcd-server"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
  }
  command -v kubectl >/dev/null || { say "kubectl is needed (apt-get install kubectl, or the Kubernetes docs)"; exit 3; }
  if [[ -f "$state/kubeconfig" ]] && KUBECONFIG="$state/kubeconfig" kubectl get --raw /readyz >/dev/null 2>&1; then
    echo "KUBECONFIG=$state/kubeconfig"
    return 0
  fi
  down
  mkdir -p "$state/etcd" "$state/certs"
  local etcd_port peer_port api_port
  etcd_port=$(free_port); peer_port=$(free_port); api_port=$(free_port)
  openssl genrsa -out "$state/sa.key" 2048 2>/dev/null
  openssl rsa -in "$state/sa.key" -pubout -out "$state/sa.pub" 2>/dev/null
  local token
  token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  local restricted
  restricted=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s\n' "$token,admin,admin,system:masters" "$restricted,nobody,nobody" > "$state/tokens.csv"
  cat > "$state/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: apiary-test
  cluster:
    server: https://127.0.0.1:$api_port
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: $token
contexts:
- name: apiary-test
  context: {cluster: apiary-test, user: admin, namespace: default}
current-context: apiary-test
YAML
  # A second kubeconfig for a user RBAC grants nothing (tests of a forbidden executor).
  sed -e "s/token: $token/token: $restricted/" -e 's/name: admin/name: nobody/; s/user: admin/user: nobody/' "$state/kubeconfig" > "$state/kubeconfig-nobody"
  start etcd etcd --data-dir "$state/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "default=http://127.0.0.1:$peer_port"
  # WatchList=false: Debian's etcd 3.4.23 lacks RequestWatchProgress, so the watch cache answers a
  # watch-list stream (kwok's client-go asks for one) with an error event instead of refusing the
  # request; kwok then fell back to relists that back off to ~45 s, and a new pod could wait that
  # long for its status (a training job stayed InProgress past a test's 60 s window). Refused
  # outright, the request makes client-go fall back to a plain list + watch at once.
  start kube-apiserver "$cache/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --endpoint-reconciler-type none --cert-dir "$state/certs" --token-auth-file "$state/tokens.csv" \
    --authorization-mode RBAC --service-cluster-ip-range 10.96.0.0/16 \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$state/sa.pub" --service-account-signing-key-file "$state/sa.key" \
    --feature-gates WatchList=false
  export KUBECONFIG="$state/kubeconfig"
  wait_for kube-apiserver 60 kubectl get --raw /readyz
  start kube-controller-manager "$cache/kube-controller-manager" --kubeconfig "$state/kubeconfig" \
    --controllers '*' --service-account-private-key-file "$state/sa.key" --leader-elect=false --secure-port 0
  start kube-scheduler "$cache/kube-scheduler" --kubeconfig "$state/kubeconfig" --leader-elect=false --secure-port 0
  local kwok_stages
  kwok_stages="$(GOFLAGS=-mod=mod go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
  [[ -d "$kwok_stages" ]] || (cd /tmp && GOFLAGS=-mod=mod go mod download "sigs.k8s.io/kwok@$KWOK_VERSION" >&2)
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  start kwok "$cache/kwok" --kubeconfig "$state/kubeconfig" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake --server-address 127.0.0.1:0 \
    --config "$kwok_stages/node/fast/node-initialize.yaml" --config "$kwok_stages/node/heartbeat/node-heartbeat.yaml" \
    --config "$here/k8s-stages/pod-ready.yaml" --config "$here/k8s-stages/pod-image-pull.yaml" \
    --config "$here/k8s-stages/pod-exit.yaml" --config "$here/k8s-stages/pod-delete.yaml"
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-0, kubernetes.io/os: linux, kubernetes.io/arch: amd64}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110", nvidia.com/gpu: "8"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110", nvidia.com/gpu: "8"}
YAML
  wait_for "the fake node" 60 sh -c "kubectl get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -q True"
  wait_for "the node's taints to clear" 60 sh -c "test -z \"\$(kubectl get node kwok-node-0 -o jsonpath='{.spec.taints}')\""
  wait_for "the default service account" 60 kubectl get serviceaccount default
  echo "KUBECONFIG=$state/kubeconfig"
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) down ;;
  *) echo "usage: $0 build|up|down" >&2; exit 2 ;;
esac
