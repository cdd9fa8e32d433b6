#!/usr/bin/env bash
# test_proxy.sh PULL RUN_DIR - pulls through a real HTTP proxy (Debian's
# tinyproxy, on 127.0.0.1, asking for Basic credentials), with examples-c/pull
# against the registries of the "servers" fixture (RUN_DIR/env):
#  A. http_proxy from the environment, plain-HTTP registry: GETs through the proxy
#  B. https_proxy from the environment, HTTPS registry: a CONNECT tunnel
#  C. the proxy set through isula_registry_set_proxy (--proxy), environment empty
#  D. a wrong proxy password: exit 1, advice about the proxy's credentials
#  E. no_proxy (environment, and --no-proxy) skips a proxy that is not there
#  F. no output of any run shows the proxy password
#  G. a proxy URL of an unsupported scheme is refused (exit 2) without repeating it
# Each pull's requests are counted in the proxy's log. The proxy is started
# and stopped (by pid) here.
set -euo pipefail
pull=${1:?usage: test_proxy.sh PULL RUN_DIR}
run=${2:?}
. "$run/env"
: "${REGISTRY_PORT:?}" "${REGISTRY_TLS_PORT:?}" "${CERTS_D:?}"
command -v tinyproxy >/dev/null || { echo "test_proxy: tinyproxy missing (apt-get install tinyproxy)" >&2; exit 1; }

work=$(mktemp -d "$run/tmp/proxy.XXXXXX")
failed=1 proxy_pid=
stop_proxy() {
  if [ -n "$proxy_pid" ]; then
    kill "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
    proxy_pid=
  fi
}
trap 'stop_proxy; [ "$failed" = 0 ] && rm -rf "$work" || echo "test_proxy: FAILED; files kept in $work" >&2' EXIT
fail() { echo "test_proxy: FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

user=proxyuser password=Pr0xy-s3cret-$RANDOM
port=$(free_port)
log=$work/tinyproxy.log
cat > "$work/tinyproxy.conf" <<CONF
Port $port
Listen 127.0.0.1
Timeout 60
LogFile "$log"
LogLevel Info
MaxClients 20
DisableViaHeader Yes
BasicAuth $user $password
CONF
touch "$log"
tinyproxy -d -c "$work/tinyproxy.conf" > "$work/tinyproxy.out" 2>&1 &
proxy_pid=$!
for _ in $(seq 100); do
  ss -Hltn "( sport = :$port )" | grep -q . && break
  kill -0 "$proxy_pid" 2>/dev/null || { cat "$work/tinyproxy.out" >&2; fail "tinyproxy did not start"; }
  sleep 0.1
done
ss -Hltn "( sport = :$port )" | grep -q . || fail "tinyproxy does not listen on 127.0.0.1:$port"
proxy=http://$user:$password@127.0.0.1:$port

# count PATTERN - request lines in the proxy's log matching PATTERN
count() { grep -ac -- "$1" "$log" || true; }
gets="GET http://127.0.0.1:$REGISTRY_PORT/v2/"
connects="CONNECT 127.0.0.1:$REGISTRY_TLS_PORT"

# pull_with NAME [env VAR=...] -- ARGS... : run a pull, keep its output, print its status
pull_with() {
  local name=$1 rc
  shift
  set +e
  env -u http_proxy -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY \
    "$@" > "$work/$name.out" 2>&1 < /dev/null
  rc=$?
  set -e
  echo "$rc"
}
plain_image=127.0.0.1:$REGISTRY_PORT/test/x:v1
tls_image=127.0.0.1:$REGISTRY_TLS_PORT/test/x:v1

# A
rc=$(pull_with A http_proxy="$proxy" timeout 120 "$pull" --progress plain --insecure \
  --root "$work/store-A" "$plain_image" x:v1)
[ "$rc" = 0 ] || { cat "$work/A.out" >&2; fail "A: pull through http_proxy failed ($rc)"; }
[ "$(count "$gets")" -ge 2 ] || { cat "$log" >&2; fail "A: the proxy saw no registry GETs"; }
ok "A: http_proxy: $(count "$gets") GETs of the plain registry through the proxy"

# B
rc=$(pull_with B https_proxy="$proxy" timeout 120 "$pull" --progress plain --certs-dir "$CERTS_D" \
  --root "$work/store-B" "$tls_image" x:v1)
[ "$rc" = 0 ] || { cat "$work/B.out" >&2; fail "B: pull through https_proxy failed ($rc)"; }
b=$(count "$connects")
[ "$b" -ge 1 ] || { cat "$log" >&2; fail "B: no CONNECT to the HTTPS registry in the proxy's log"; }
ok "B: https_proxy: $b CONNECT tunnels to the HTTPS registry"

# C
rc=$(pull_with C timeout 120 "$pull" --progress plain --certs-dir "$CERTS_D" --proxy "$proxy" \
  --root "$work/store-C" "$tls_image" x:v1)
[ "$rc" = 0 ] || { cat "$work/C.out" >&2; fail "C: pull through --proxy failed ($rc)"; }
c=$(count "$connects")
[ "$c" -gt "$b" ] || fail "C: no new CONNECT through the proxy set by isula_registry_set_proxy"
ok "C: isula_registry_set_proxy: $((c - b)) more CONNECT tunnels"

# D
wrong=http://$user:not-$password@127.0.0.1:$port
rc=$(pull_with D timeout 120 "$pull" --progress plain --certs-dir "$CERTS_D" --proxy "$wrong" \
  --root "$work/store-D" "$tls_image" x:v1)
[ "$rc" = 1 ] || { cat "$work/D.out" >&2; fail "D: exit status $rc with a wrong proxy password, expected 1"; }
grep -q "the proxy refused the request for want of valid credentials" "$work/D.out" ||
  { cat "$work/D.out" >&2; fail "D: no advice about the proxy's credentials"; }
ok "D: wrong proxy password: exit 1, $(grep -o 'the proxy refused[^:]*' "$work/D.out" | head -n1)"

# E
dead=http://$user:$password@127.0.0.1:$(free_port)
rc=$(pull_with E1 https_proxy="$dead" no_proxy=127.0.0.1 timeout 120 "$pull" --progress plain \
  --certs-dir "$CERTS_D" --root "$work/store-E1" "$tls_image" x:v1)
[ "$rc" = 0 ] || { cat "$work/E1.out" >&2; fail "E: no_proxy did not bypass the proxy ($rc)"; }
rc=$(pull_with E2 timeout 120 "$pull" --progress plain --certs-dir "$CERTS_D" --proxy "$dead" \
  --no-proxy 127.0.0.1 --root "$work/store-E2" "$tls_image" x:v1)
[ "$rc" = 0 ] || { cat "$work/E2.out" >&2; fail "E: --no-proxy did not bypass the proxy ($rc)"; }
rc=$(pull_with E3 https_proxy="$dead" timeout 120 "$pull" --progress plain \
  --certs-dir "$CERTS_D" --root "$work/store-E3" "$tls_image" x:v1)
[ "$rc" = 1 ] || { cat "$work/E3.out" >&2; fail "E: a dead proxy without no_proxy did not fail ($rc)"; }
grep -q "cannot connect to the proxy 127.0.0.1:[0-9]*: check https_proxy" "$work/E3.out" || { cat "$work/E3.out" >&2; fail "E: no advice about the proxy"; }
ok "E: no_proxy and --no-proxy bypass a dead proxy; without them: 'cannot connect to the proxy'"

# G: a URL isula_registry_set_proxy refuses: usage error, the URL not repeated
rc=$(pull_with G timeout 60 "$pull" --proxy "ftp://$user:$password@127.0.0.1:$port" \
  --root "$work/store-G" "$tls_image" x:v1)
[ "$rc" = 2 ] || { cat "$work/G.out" >&2; fail "G: exit status $rc for an ftp:// proxy, expected 2"; }
grep -q "unsupported proxy scheme ftp" "$work/G.out" || { cat "$work/G.out" >&2; fail "G: no reason given"; }
ok "G: an ftp:// proxy URL: exit 2, 'unsupported proxy scheme ftp'"

# F
if grep -l -- "$password" "$work"/*.out; then fail "F: the proxy password is in the output above"; fi
outs=("$work"/*.out)
ok "F: the proxy password is in none of ${#outs[@]} outputs of pulls and of tinyproxy"
failed=0
