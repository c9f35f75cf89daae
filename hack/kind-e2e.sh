#!/usr/bin/env bash
# End-to-end test on a throwaway kind cluster: build both images, install the Helm chart, apply
# examples/minimal.yaml, wait for Ready, buy through Nginx, delete the stack and check clean-up.
#
# Needs Docker, kind, kubectl, helm and curl on PATH. It cannot run on machines without a container engine
# (such as this project's CI sandbox); .github/workflows/e2e-kind.yaml runs it on GitHub's runners.
#
# Environment: CLUSTER (default fso-e2e), KEEP_CLUSTER=1 keeps the cluster afterwards,
# READY_TIMEOUT (default 900s), NAMESPACE for the stack (default fss-e2e).
set -euo pipefail

CLUSTER=${CLUSTER:-fso-e2e}
READY_TIMEOUT=${READY_TIMEOUT:-900s}
NAMESPACE=${NAMESPACE:-fss-e2e}
OPERATOR_NS=flash-sale-system
STACK=shop  # metadata.name in examples/minimal.yaml
VERSION=$(node -p "require('./package.json').version" 2>/dev/null || echo 0.1.0)
OPERATOR_IMAGE=ghcr.io/flash-sale-operator/flash-sale-operator:${VERSION}
API_IMAGE=ghcr.io/flash-sale-operator/flash-sale-api:${VERSION}
PF_PID=

cd "$(dirname "$0")/.."

log() { printf '\n=== %s\n' "$*"; }

need() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "kind-e2e.sh needs: ${missing[*]} (install them; a container engine must be running for kind)" >&2
    exit 2
  fi
  docker info >/dev/null 2>&1 || { echo "kind-e2e.sh: Docker is not running" >&2; exit 2; }
}

diagnostics() {
  log "diagnostics"
  kubectl get fss -A -o wide || true
  kubectl describe fss "$STACK" -n "$NAMESPACE" || true
  kubectl get all,pvc,cm,secret -n "$NAMESPACE" -o wide || true
  kubectl get events -A --sort-by=.lastTimestamp | tail -n 80 || true
  kubectl logs -n "$OPERATOR_NS" -l app.kubernetes.io/name=flash-sale-operator --tail=300 --all-containers || true
  for pod in $(kubectl get pods -n "$NAMESPACE" -o name 2>/dev/null); do
    kubectl logs -n "$NAMESPACE" "$pod" --all-containers --tail=100 || true
  done
}

cleanup() {
  local rc=$?
  if [ -n "$PF_PID" ]; then kill "$PF_PID" 2>/dev/null || true; fi
  if [ "$rc" -ne 0 ]; then diagnostics; fi
  if [ "${KEEP_CLUSTER:-0}" != 1 ]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
  exit "$rc"
}

need docker kind kubectl helm curl node
trap cleanup EXIT

log "kind cluster $CLUSTER"
kind get clusters 2>/dev/null | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 180s

log "build and load images"
docker build -t "$OPERATOR_IMAGE" .
docker build -f Dockerfile.api -t "$API_IMAGE" .
kind load docker-image --name "$CLUSTER" "$OPERATOR_IMAGE" "$API_IMAGE"

log "install the operator chart"
helm upgrade --install flash-sale-operator charts/flash-sale-operator \
  --namespace "$OPERATOR_NS" --create-namespace \
  --set image.tag="$VERSION" --set image.pullPolicy=IfNotPresent \
  --wait --timeout 5m

log "apply examples/minimal.yaml"
kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -n "$NAMESPACE" -f examples/minimal.yaml
kubectl wait -n "$NAMESPACE" --for=condition=Ready "fss/$STACK" --timeout="$READY_TIMEOUT"
kubectl get fss -n "$NAMESPACE"

log "buy through Nginx"
kubectl port-forward -n "$NAMESPACE" "svc/$STACK-nginx" 18080:80 >/dev/null 2>&1 &
PF_PID=$!
for _ in $(seq 30); do curl -fsS http://127.0.0.1:18080/health >/dev/null 2>&1 && break; sleep 1; done
TOKEN=$(kubectl get secret -n "$NAMESPACE" "$STACK-api" -o jsonpath='{.data.ADMIN_TOKEN}' | base64 -d)
STARTS=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)
ENDS=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
SALE=$(curl -fsS -X POST http://127.0.0.1:18080/api/sales \
  -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "{\"productId\":\"e2e-product\",\"stock\":10,\"startsAt\":\"$STARTS\",\"endsAt\":\"$ENDS\"}")
SALE_ID=$(node -p "JSON.parse(process.argv[1]).id" "$SALE")
ORDER=$(curl -fsS -X POST "http://127.0.0.1:18080/api/sales/$SALE_ID/orders" \
  -H 'content-type: application/json' -d '{"userId":"e2e-user-1"}')
ORDER_ID=$(node -p "JSON.parse(process.argv[1]).orderId" "$ORDER")
STATUS=
for _ in $(seq 60); do
  STATUS=$(curl -fsS "http://127.0.0.1:18080/api/orders/$ORDER_ID" | node -p "JSON.parse(require('fs').readFileSync(0)).status")
  [ "$STATUS" = confirmed ] && break
  sleep 2
done
[ "$STATUS" = confirmed ] || { echo "order $ORDER_ID never confirmed (last status: $STATUS)" >&2; exit 1; }
echo "order $ORDER_ID confirmed"
kill "$PF_PID" 2>/dev/null || true
PF_PID=

log "delete the stack and check clean-up"
kubectl delete -n "$NAMESPACE" "fss/$STACK" --timeout=300s
for _ in $(seq 60); do
  left=$(kubectl get deploy,sts,svc,cm,job,cronjob,pdb,networkpolicy -n "$NAMESPACE" -l "flashsale.dev/stack=$STACK" -o name | wc -l)
  [ "$left" -eq 0 ] && break
  sleep 2
done
[ "$left" -eq 0 ] || { echo "objects left after deletion:" >&2; kubectl get all -n "$NAMESPACE" -l "flashsale.dev/stack=$STACK" >&2; exit 1; }
echo "e2e passed"
