#!/usr/bin/env bash
# Builds and caches the binaries of the kubetopo test cluster (see /work/shared/TESTBED.md):
#
#   kube-apiserver, kube-controller-manager, kube-scheduler  k8s.io/kubernetes (scratch module)
#   etcd                                                     Debian etcd-server (apt-get download)
#   kwok                                                     sigs.k8s.io/kwok (go install)
#   prometheus, promtool                                     Debian prometheus 2.42 (apt-get download)
#   prometheus3, promtool3                                   github.com/prometheus/prometheus (tools module)
#   helm                                                     helm.sh/helm/v3 (tools module)
#
# Usage: hack/testbed/build.sh [apiserver|controller-manager|scheduler|kube|etcd|kwok|prometheus|prometheus3|helm|all]...
# Default: all. Progress goes to stderr; the last line of stdout is the bin dir:
#
#   BIN=$(hack/testbed/build.sh | tail -1)
#
# Each artifact is built only when its stamp file is missing; stamps are written after the
# binary has been moved into place, so an interrupted build is simply redone.
set -euo pipefail

K8S_VERSION=v1.33.13
STAGING_VERSION=v0.33.13 # k8s.io/X staging modules published for K8S_VERSION
KWOK_VERSION=v0.7.0
# Prometheus 3.15: the module's v0.316.0 is not fully served by the proxy, v0.315.0 is.
PROMETHEUS3_MODULE_VERSION=v0.315.0
PROMETHEUS3_VERSION=3.15.0
# Helm 3 (the seed's install story); v3.22.0 is served but not approved for use here.
HELM_VERSION=v3.21.4

cache=${KUBETOPO_CACHE:-$HOME/.cache/kubetopo}
root="$cache/testbed/k8s-${K8S_VERSION}_kwok-${KWOK_VERSION}"
bindir="$root/bin"
stamps="$root/stamps"
mkdir -p "$bindir" "$stamps"

log() { echo "build.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Keep the build independent of whatever module/workspace the caller sits in.
export GOWORK=off
base_goflags=${GOFLAGS:-}

done_stamp() { [[ -f "$stamps/$1.done" ]] && [[ -x "$bindir/$2" ]]; }
write_stamp() { date -u +%FT%TZ >"$stamps/$1.done"; }

# install_bin SRC NAME: atomically put SRC into $bindir/NAME (temp name on the same fs, then mv).
install_bin() {
	local src=$1 name=$2 tmp
	tmp=$(mktemp "$bindir/.$name.XXXXXX")
	cp "$src" "$tmp"
	chmod 0755 "$tmp"
	mv -f "$tmp" "$bindir/$name"
}

# ---------------------------------------------------------------------------------------------
# Kubernetes control-plane binaries.

k8s_module() {
	local src="$root/src/kubernetes" gomod k8s_mod staging
	mkdir -p "$src"
	if [[ -f "$src/.ready" ]]; then
		echo "$src"
		return
	fi
	log "preparing scratch module for k8s.io/kubernetes@$K8S_VERSION in $src"
	# The module's go.mod (not the whole zip) is all that is needed to derive the replaces.
	k8s_mod=$(cd "$src" && GOFLAGS='' go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
		sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
	[[ -f "$k8s_mod" ]] || die "cannot download k8s.io/kubernetes@$K8S_VERSION"

	# Modules kubernetes replaces with ./staging/src/k8s.io/X (both block and one-line forms).
	staging=$(sed -nE 's#^[[:space:]]*(replace[[:space:]]+)?(k8s\.io/[^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/src/.*#\2#p' "$k8s_mod" | sort -u)
	[[ -n "$staging" ]] || die "no staging replaces found in $k8s_mod"

	gomod="$src/go.mod.tmp"
	{
		echo "module kubetopo.local/testbed-k8s"
		echo
		grep -E '^go [0-9]' "$k8s_mod"
		# godebug: single lines and blocks.
		awk '/^godebug[[:space:]]*\(/{b=1; print; next} b{print; if ($0 ~ /^\)/) b=0; next} /^godebug[[:space:]]/{print}' "$k8s_mod"
		echo
		echo "require k8s.io/kubernetes $K8S_VERSION"
		echo
		echo "replace ("
		local m
		for m in $staging; do
			case "$m" in
			k8s.io/sample-apiserver | k8s.io/sample-cli-plugin | k8s.io/sample-controller)
				echo "	$m => ./stubs/${m#k8s.io/}"
				;;
			*)
				echo "	$m => $m $STAGING_VERSION"
				;;
			esac
		done
		echo ")"
	} >"$gomod"
	for m in sample-apiserver sample-cli-plugin sample-controller; do
		mkdir -p "$src/stubs/$m"
		printf 'module k8s.io/%s\n\ngo 1.24\n' "$m" >"$src/stubs/$m/go.mod"
	done
	mv -f "$gomod" "$src/go.mod"
	cat >"$src/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
EOF
	log "go mod tidy (downloads ~1 GiB of modules when cold)"
	(cd "$src" && GOFLAGS="$base_goflags -mod=mod" go mod tidy >&2) || die "go mod tidy failed"
	touch "$src/.ready"
	echo "$src"
}

build_kube() {
	# $@: subset of apiserver controller-manager scheduler that is missing
	local src out ldflags pkgs=() c
	src=$(k8s_module)
	for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/kube-$c"); done
	out=$(mktemp -d "$root/.build.XXXXXX")
	ldflags="-s -w"
	for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1"
		ldflags+=" -X $v.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
		ldflags+=" -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
	done
	log "go build ${pkgs[*]} (cold: ~5 minutes on 2 cores)"
	local start=$SECONDS
	(cd "$src" && CGO_ENABLED=0 GOFLAGS="$base_goflags -mod=mod" \
		go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}" >&2) || {
		rm -rf "$out"
		die "go build of kubernetes binaries failed"
	}
	for c in "$@"; do
		install_bin "$out/kube-$c" "kube-$c"
		write_stamp "$c"
	done
	rm -rf "$out"
	log "kubernetes binaries built in $((SECONDS - start))s"
}

# ---------------------------------------------------------------------------------------------
# Debian packages: apt-get download + dpkg-deb -x (never apt-get install: etcd-server's
# postinst would start a system etcd on :2379).

apt_updated=0
deb_extract() {
	# deb_extract PACKAGE -> prints the directory the package was extracted into
	local pkg=$1 dl ex
	dl=$(mktemp -d "$root/.deb.XXXXXX")
	# apt-get download as root warns about an unsandboxed download; that is harmless.
	if ! (cd "$dl" && apt-get download -q "$pkg" >&2 2>/dev/null); then
		if [[ $apt_updated == 0 ]]; then
			log "apt-get download $pkg failed; running apt-get update once"
			apt-get update -q >&2 || die "apt-get update failed"
			apt_updated=1
		fi
		(cd "$dl" && apt-get download -q "$pkg" >&2) || die "apt-get download $pkg failed"
	fi
	ex="$dl/x"
	mkdir -p "$ex"
	dpkg-deb -x "$dl"/"${pkg}"_*.deb "$ex" || die "dpkg-deb -x $pkg failed"
	echo "$ex"
}

find_in() {
	# find_in DIR NAME -> path of an executable file named NAME under DIR (prefers usr/bin)
	local dir=$1 name=$2 p
	for p in "$dir/usr/bin/$name" "$dir/usr/sbin/$name" "$dir/bin/$name"; do
		[[ -f "$p" && -x "$p" ]] && { echo "$p"; return; }
	done
	p=$(find "$dir" -type f -name "$name" -perm -u+x | head -1)
	[[ -n "$p" ]] || die "$name not found in the extracted package"
	echo "$p"
}

build_etcd() {
	local ex
	log "fetching Debian etcd-server"
	ex=$(deb_extract etcd-server)
	install_bin "$(find_in "$ex" etcd)" etcd
	rm -rf "$(dirname "$ex")"
	write_stamp etcd
	log "etcd: $("$bindir/etcd" --version 2>/dev/null | head -1)"
}

build_prometheus() {
	local ex
	log "fetching Debian prometheus"
	ex=$(deb_extract prometheus)
	install_bin "$(find_in "$ex" prometheus)" prometheus
	install_bin "$(find_in "$ex" promtool)" promtool
	rm -rf "$(dirname "$ex")"
	write_stamp prometheus
	log "prometheus: $("$bindir/prometheus" --version 2>&1 | head -1)"
}

# ---------------------------------------------------------------------------------------------
# kwok: go install into a temp GOBIN, then move into place.

build_kwok() {
	local tmp start=$SECONDS
	tmp=$(mktemp -d "$root/.kwok.XXXXXX")
	log "go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION (~80 s cold)"
	(cd "$tmp" && GOBIN="$tmp" GOFLAGS="$base_goflags" CGO_ENABLED=0 \
		go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2) || {
		rm -rf "$tmp"
		die "go install kwok failed"
	}
	install_bin "$tmp/kwok" kwok
	rm -rf "$tmp"
	write_stamp kwok
	log "kwok built in $((SECONDS - start))s"
}

# ---------------------------------------------------------------------------------------------
# Go tools whose go.mod carries replaces (go install pkg@version refuses them): build them
# through a scratch module that requires them.

# build_tool NAME MODULE VERSION PKG:BIN... -> builds each PKG into $bindir/BIN
build_tool() {
	local name=$1 mod=$2 ver=$3 src out start=$SECONDS pkg bin spec
	shift 3
	src="$root/src/$name-$ver"
	mkdir -p "$src"
	if [[ ! -f "$src/.ready" ]]; then
		log "preparing tools module for $mod@$ver in $src"
		printf 'module kubetopo.local/tools-%s\n\ngo 1.26\n' "$name" >"$src/go.mod"
		(cd "$src" && GOFLAGS="$base_goflags -mod=mod" go get "$mod@$ver" >&2) || die "go get $mod@$ver failed"
		touch "$src/.ready"
	fi
	out=$(mktemp -d "$root/.build.XXXXXX")
	for spec in "$@"; do
		pkg=${spec%%:*} bin=${spec##*:}
		log "go build $pkg (cold: a few minutes)"
		(cd "$src" && CGO_ENABLED=0 GOFLAGS="$base_goflags -mod=mod" go build -trimpath -ldflags "-s -w ${tool_ldflags:-}" -o "$out/$bin" "$pkg" >&2) || {
			rm -rf "$out"
			die "go build $pkg failed"
		}
	done
	for spec in "$@"; do install_bin "$out/${spec##*:}" "${spec##*:}"; done
	rm -rf "$out"
	write_stamp "$name"
	log "$name built in $((SECONDS - start))s"
}

build_prometheus3() {
	tool_ldflags="-X github.com/prometheus/common/version.Version=$PROMETHEUS3_VERSION" build_tool prometheus3 github.com/prometheus/prometheus "$PROMETHEUS3_MODULE_VERSION" \
		github.com/prometheus/prometheus/cmd/prometheus:prometheus3 \
		github.com/prometheus/prometheus/cmd/promtool:promtool3
	log "prometheus3: $("$bindir/prometheus3" --version 2>&1 | head -1)"
}

build_helm() {
	build_tool helm helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm:helm
}

# ---------------------------------------------------------------------------------------------

want=("$@")
[[ ${#want[@]} -gt 0 ]] || want=(all)
declare -A sel=()
for a in "${want[@]}"; do
	case "$a" in
	all) for x in apiserver controller-manager scheduler etcd kwok prometheus prometheus3 helm; do sel[$x]=1; done ;;
	kube) for x in apiserver controller-manager scheduler; do sel[$x]=1; done ;;
	apiserver | kube-apiserver) sel[apiserver]=1 ;;
	controller-manager | kube-controller-manager) sel[controller-manager]=1 ;;
	scheduler | kube-scheduler) sel[scheduler]=1 ;;
	etcd) sel[etcd]=1 ;;
	kwok) sel[kwok]=1 ;;
	prometheus | promtool) sel[prometheus]=1 ;;
	prometheus3 | promtool3) sel[prometheus3]=1 ;;
	helm) sel[helm]=1 ;;
	*) die "unknown artifact '$a' (want: all kube apiserver controller-manager scheduler etcd kwok prometheus prometheus3 helm)" ;;
	esac
done

# One build at a time per cache dir; then clear leftovers of interrupted runs.
exec 9>"$root/.lock"
if ! flock -n 9; then
	log "waiting for another build.sh using $root"
	flock 9
fi
rm -rf "$root"/.build.* "$root"/.deb.* "$root"/.kwok.* "$bindir"/.*.?????? 2>/dev/null || true

kube_missing=()
for c in apiserver controller-manager scheduler; do
	if [[ -n ${sel[$c]:-} ]] && ! done_stamp "$c" "kube-$c"; then kube_missing+=("$c"); fi
done
if [[ ${#kube_missing[@]} -gt 0 ]]; then build_kube "${kube_missing[@]}"; fi
if [[ -n ${sel[etcd]:-} ]] && ! done_stamp etcd etcd; then build_etcd; fi
if [[ -n ${sel[kwok]:-} ]] && ! done_stamp kwok kwok; then build_kwok; fi
if [[ -n ${sel[prometheus]:-} ]] && ! { done_stamp prometheus prometheus && [[ -x "$bindir/promtool" ]]; }; then
	build_prometheus
fi
if [[ -n ${sel[prometheus3]:-} ]] && ! { done_stamp prometheus3 prometheus3 && [[ -x "$bindir/promtool3" ]]; }; then
	build_prometheus3
fi
if [[ -n ${sel[helm]:-} ]] && ! done_stamp helm helm; then build_helm; fi

log "ready: $bindir"
echo "$bindir"
