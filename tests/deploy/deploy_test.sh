#!/usr/bin/env bash
# Checks deploy/ against what the build produces:
#   - the Dockerfile copies binaries the build makes, at the paths it makes them,
#     exposes the ports the configs listen on, and installs runtime packages
#     that exist and that hold every library the binaries link;
#   - the Kubernetes manifests render (kubectl kustomize), use those ports and
#     probe with dsarctl flags that parse;
#   - the example configs (production, ConfigMap, demo) pass `dsard --check`;
#   - the systemd unit passes `systemd-analyze verify` (when available).
# Usage: deploy_test.sh SOURCE_DIR BUILD_DIR DSARD DSARCTL
set -euo pipefail
SRC="$1" BUILD="$2" DSARD="$3" DSARCTL="$4"
DEPLOY="$SRC/deploy"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# --- Dockerfile ----------------------------------------------------------------
dockerfile="$DEPLOY/Dockerfile"
copied=$(grep -E '^COPY --from=build' "$dockerfile" | sed -E 's/^COPY --from=build //' | tr ' ' '\n' | grep '^/build/' || true)
[ -n "$copied" ] || fail "Dockerfile copies no binaries from the build stage"
for path in $copied; do
  rel="${path#/build/}"
  if [ -x "$BUILD/$rel" ]; then ok "Dockerfile copies $rel, which the build makes"; else fail "Dockerfile copies /build/$rel but $BUILD/$rel does not exist"; fi
done
entry=$(grep -E '^ENTRYPOINT' "$dockerfile" | sed -E 's/.*\["([^"]+)".*/\1/')
echo "$copied" | grep -q "/$(basename "$entry")$" && ok "ENTRYPOINT $entry is copied" || fail "ENTRYPOINT $entry is not copied"
grep -q -- "--target dsard dsarctl" "$dockerfile" || fail "Dockerfile does not build the dsard and dsarctl targets"
exposed=$(grep -E '^EXPOSE' "$dockerfile" | sed 's/EXPOSE//' | xargs)
[ "$exposed" = "50051 9464" ] && ok "EXPOSE $exposed" || fail "EXPOSE is '$exposed', expected '50051 9464'"
grep -q '^USER 10001' "$dockerfile" && ok "image runs as a non-root user" || fail "no non-root USER"
if command -v apt-cache >/dev/null; then
  runtime=$(awk '/^FROM debian:12-slim$/{stage++} stage>=1' "$dockerfile" | sed -n '/apt-get install/,/rm -rf/p' \
    | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -v -E '^(apt-get|install|rm|noninteractive|DEBIAN_FRONTEND)$' || true)
  for p in $runtime; do
    if apt-cache show "$p" >/dev/null 2>&1; then :; else fail "runtime package $p is unknown to apt"; fi
  done
  ok "runtime packages known to apt: $(echo $runtime | wc -w)"
  # Every shared library the binaries link directly comes from a runtime
  # package (or from debian:12-slim itself); apt brings their dependencies.
  if command -v readelf >/dev/null && command -v dpkg >/dev/null; then
    in_base="libc6 libgcc-s1 libstdc++6"
    # ...and what those packages depend on (e.g. libgrpc29 for libgrpc++1.51).
    allowed=" $(echo $runtime) $in_base $(apt-cache depends $runtime 2>/dev/null \
      | awk '$1 == "Depends:" {sub(/:.*/, "", $2); print $2}' | sort -u | xargs) "
    for bin in "$DSARD" "$DSARCTL"; do
      for lib in $(readelf -d "$bin" | awk '/NEEDED/{gsub(/[][]/, "", $5); print $5}'); do
        case "$lib" in libasan* | libubsan* | libtsan* | ld-linux*) continue ;; esac
        # No early exit in the readers: under pipefail a writer killed by
        # SIGPIPE would fail the assignment.
        path=$(ldd "$bin" | awk -v l="$lib" '$1 == l && !seen {print $3; seen = 1}') || true
        if [ -z "$path" ]; then fail "$(basename "$bin") needs $lib, which is not installed here"; continue; fi
        pkg=$({ dpkg -S "$path" || dpkg -S "$(readlink -f "$path")" || dpkg -S "/usr$path"; } 2>/dev/null \
          | awk -F: 'NR == 1 {print $1}') || true
        if [ -z "$pkg" ]; then fail "no package owns $path ($lib)"; continue; fi
        case "$allowed" in
          *" $pkg "*) ;;
          *) fail "$(basename "$bin") needs $lib from $pkg, which the image does not install" ;;
        esac
      done
    done
    ok "the image installs the packages of every library dsard and dsarctl link"
  fi
fi

# --- configs -------------------------------------------------------------------
check_config() {  # name file
  if out=$("$DSARD" --check --config "$2" 2>&1); then ok "$1 passes dsard --check"; else fail "$1: $out"; fi
}
check_config "deploy/dsard.prod.textproto" "$DEPLOY/dsard.prod.textproto"
sed "s#@VAR@#$TMP#g" "$DEPLOY/dsard.dev.textproto" > "$TMP/dev.textproto"
check_config "deploy/dsard.dev.textproto" "$TMP/dev.textproto"
awk '/^  dsard.textproto: \|$/{on=1; next} on && /^    /{sub(/^    /, ""); print; next} on{exit}' \
  "$DEPLOY/kubernetes/configmap.yaml" > "$TMP/configmap.textproto"
check_config "ConfigMap dsard.textproto" "$TMP/configmap.textproto"
grep -q 'listen_address: "0.0.0.0:50051"' "$TMP/configmap.textproto" || fail "ConfigMap gRPC port is not 50051"
grep -q 'admin_listen_address: "0.0.0.0:9464"' "$TMP/configmap.textproto" || fail "ConfigMap admin port is not 9464"
if grep -q insecure_loopback "$DEPLOY/dsard.prod.textproto" "$TMP/configmap.textproto"; then
  fail "a production config uses insecure_loopback"
else
  ok "production configs use TLS"
fi

# --- Kubernetes ------------------------------------------------------------------
sts="$DEPLOY/kubernetes/statefulset.yaml"
for port in 50051 9464; do
  grep -q "containerPort: $port" "$sts" && ok "StatefulSet exposes $port" || fail "StatefulSet lacks containerPort $port"
done
grep -q 'image: .*dsar' "$sts" || fail "StatefulSet image is not dsar"
grep -q 'volumeClaimTemplates' "$sts" && ok "StatefulSet has a persistent volume" || fail "no volumeClaimTemplates"
grep -q 'mountPath: /var/lib/dsar' "$sts" || fail "data volume not at /var/lib/dsar"
grep -q '"/var/lib/dsar/dsar.db"' "$TMP/configmap.textproto" || fail "ConfigMap database is not on the volume"
for target in $(grep -h 'targetPort:' "$DEPLOY/kubernetes/service.yaml" | awk '{print $2}' | sort -u); do
  grep -q "name: $target" "$sts" && ok "Service targetPort $target is a container port" || fail "Service targetPort $target not in StatefulSet"
done
# Probes: the binary is in the image and the flags parse (a closed port gives
# 6 "unavailable", a flag error would give 2).
probe=$(awk '/readinessProbe:/{on=1} on{print} on && /\]/{exit}' "$sts" | tr -d '\n' \
  | sed -E 's/.*command: \[(.*)\].*/\1/' | tr -d '",' | tr -s ' ')
[ -n "$probe" ] || fail "no readiness probe command"
probe_bin=$(echo "$probe" | awk '{print $1}')
echo "$copied" | grep -q "/$(basename "$probe_bin")$" && ok "probe binary $probe_bin is in the image" || fail "probe binary $probe_bin not in the image"
grep -q "$probe_bin" "$dockerfile" || [ "$(dirname "$probe_bin")" = "/usr/local/bin" ] || fail "probe binary path differs from the image's"
printf 'not a real CA\n' > "$TMP/ca.crt"
args=$(echo "$probe" | cut -d' ' -f2- | sed -e "s#/etc/dsar/tls/ca.crt#$TMP/ca.crt#" -e 's#localhost:50051#127.0.0.1:1#')
set +e
"$DSARCTL" $args >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 6 ] && ok "probe flags parse (dsarctl exit $rc against a closed port)" || fail "probe command exits $rc (expected 6)"
if command -v kubectl >/dev/null; then
  if kubectl kustomize "$DEPLOY/kubernetes" > "$TMP/rendered.yaml" 2>"$TMP/kustomize.err"; then
    ok "kubectl kustomize renders $(grep -c '^kind:' "$TMP/rendered.yaml") objects"
  else
    fail "kubectl kustomize: $(cat "$TMP/kustomize.err")"
  fi
fi

# --- systemd ---------------------------------------------------------------------
unit="$DEPLOY/systemd/dsard.service"
for key in User=dsar NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes StateDirectory=dsar; do
  grep -q "^$key" "$unit" && ok "unit sets $key" || fail "unit lacks $key"
done
if command -v systemd-analyze >/dev/null; then
  sed -e "s#/usr/local/bin/dsard#$DSARD#g" "$unit" > "$TMP/dsard.service"
  if out=$(systemd-analyze verify --man=no "$TMP/dsard.service" 2>&1); then
    ok "systemd-analyze verify"
  else
    fail "systemd-analyze verify: $out"
  fi
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all deploy checks passed"
