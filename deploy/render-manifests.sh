#!/usr/bin/env bash
# Renders deploy/manifests/kubetopo.yaml from the chart with deploy/manifests/values.yaml, for
# clusters installed without Helm. `make manifests` runs it; test/deploy's TestManifestsUpToDate
# fails when the committed file differs from a fresh render. With "-" it writes to stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# $HELM, else helm on PATH, else the testbed's (hack/testbed/build.sh builds it from its Go module).
helm=${HELM:-$(command -v helm || true)}
if [[ -z $helm ]]; then
	helm=$("$root/hack/testbed/build.sh" helm | tail -1)/helm
fi
out=${1:-$root/deploy/manifests/kubetopo.yaml}
namespace=kubetopo
render() {
	cat <<HEADER
# kubetopo: plain manifests rendered from deploy/helm/kubetopo by deploy/render-manifests.sh
# with deploy/manifests/values.yaml. Do not edit: change the chart or the values and run
# \`make manifests\`. Before applying, replace the cluster name "my-cluster" below
# (--cluster.name=my-cluster) with a name for your cluster; docs/deploy.md explains the rest.
#
#   kubectl apply --server-side -f kubetopo.yaml
---
apiVersion: v1
kind: Namespace
metadata:
  name: $namespace
  labels:
    app.kubernetes.io/name: kubetopo
    app.kubernetes.io/instance: kubetopo
    app.kubernetes.io/part-of: kubetopo
HEADER
	"$helm" template kubetopo "$root/deploy/helm/kubetopo" --namespace "$namespace" --kube-version 1.33.13 \
		--values "$root/deploy/manifests/values.yaml"
}
if [[ $out == - ]]; then
	render
else
	render >"$out.tmp" && mv "$out.tmp" "$out"
fi
