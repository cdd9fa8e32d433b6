#!/usr/bin/env bash
# Writes the seed corpus fuzz/corpus/<target>/seed-* (what run.sh starts
# from; committed). Deterministic: run again, get the same files. Needs
# python3 with python3-cryptography (auths seeds), gzip, zstd and tar.
set -euo pipefail
cd "$(dirname "$0")"
c=corpus
mkdir -p $c/{reference,challenge,manifest,token,auths,digester}
rm -f $c/*/seed-*

seed() { # seed TARGET < data: named by its content (runs in pipelines)
  local f
  f=$(mktemp "$c/$1/.new.XXXXXX")
  cat >"$f"
  mv "$f" "$c/$1/seed-$(sha1sum <"$f" | cut -c1-16)"
}
# prefix bytes (manifest: Content-Type index; digester: mode and chunk)
bytes() { printf "$(printf '\\%03o' "$@")"; }

for r in busybox library/busybox:1.36 docker.io/library/ubuntu:22.04 \
  127.0.0.1:5000/test/x:v1 localhost/a/b/c@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
  'reg.example:443/ns/img:tag@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' \
  'UPPER/case:x' 'a//b' 'host:port/x' 'linux/arm64/v8' 'windows/amd64' ':' '@' 'x:'; do
  printf %s "$r" | seed reference
done

printf '%s' 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"' | seed challenge
printf '%s' 'Basic realm="Registry Realm"' | seed challenge
printf '%s\n%s' 'Basic realm="a, b"' 'bearer realm="http://127.0.0.1:1/t?x=1",error="invalid_token", Basic' | seed challenge
printf '%s' 'Bearer realm=https://t/,scope="repository:a/b:pull,push repository:c:pull"' | seed challenge
printf '%s' 'Negotiate, Bearer realm="", Bearer  realm = "x\"y\\z" , service=' | seed challenge

d64=$(printf '0%.0s' $(seq 64))
desc() { printf '{"mediaType":"%s","digest":"sha256:%s","size":%s%s}' "$1" "$d64" "$2" "${3:-}"; }
schema2=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":%s,"layers":[%s,%s]}' \
  "$(desc application/vnd.docker.container.image.v1+json 1469)" \
  "$(desc application/vnd.docker.image.rootfs.diff.tar.gzip 3208942)" \
  "$(desc application/vnd.docker.image.rootfs.diff.tar 10240)")
oci=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s],"annotations":{"a":"b"}}' \
  "$(desc application/vnd.oci.image.config.v1+json 697)" \
  "$(desc application/vnd.oci.image.layer.v1.tar+zstd 227)")
index=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s,%s]}' \
  "$(desc application/vnd.oci.image.manifest.v1+json 500 ',"platform":{"os":"linux","architecture":"amd64"}')" \
  "$(desc application/vnd.oci.image.manifest.v1+json 500 ',"platform":{"os":"linux","architecture":"arm64","variant":"v8"}')" \
  "$(desc application/vnd.oci.image.manifest.v1+json 500)")
list=${index//application\/vnd.oci.image.index.v1+json/application\/vnd.docker.distribution.manifest.list.v2+json}
schema1=$(printf '{"schemaVersion":1,"name":"test/old","tag":"v1","architecture":"amd64","fsLayers":[{"blobSum":"sha256:%s"},{"blobSum":"sha256:%s"}],"history":[{"v1Compatibility":"{\\"id\\":\\"b\\",\\"parent\\":\\"a\\",\\"throwaway\\":true}"},{"v1Compatibility":"{\\"id\\":\\"a\\",\\"created\\":\\"2024-01-02T03:04:05Z\\",\\"config\\":{\\"Cmd\\":[\\"sh\\"]}}"}],"signatures":[{"header":{"alg":"ES256"},"signature":"x","protected":"eyJmb3JtYXRMZW5ndGgiOjMwMCwiZm9ybWF0VGFpbCI6IkNuMCJ9"}]}' "$d64" "$d64")
config='{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:'$d64'","sha256:'$d64'"]},"history":[{"created_by":"x"}]}'
{ bytes 0; printf %s "$schema2"; } | seed manifest
{ bytes 4; printf %s "$oci"; } | seed manifest
{ bytes 5; printf %s "$index"; } | seed manifest
{ bytes 1; printf %s "$list"; } | seed manifest
{ bytes 3; printf %s "$schema1"; } | seed manifest
{ bytes 8; printf %s "$schema1"; } | seed manifest
{ bytes 2; printf %s "$config"; } | seed manifest
{ bytes 6; printf '%s' '[[[[[[[[[[{"a":[{"b":[]}]}]]]]]]]]]]'; } | seed manifest

printf '%s' '{"token":"eyJhbGciOi.x.y","access_token":"eyJhbGciOi.x.y","expires_in":300,"issued_at":"2024-01-02T03:04:05Z"}' | seed token
printf '%s' '{"access_token":"abc","expires_in":1e308}' | seed token
printf '%s' '{"token":"abc","expires_in":-5}' | seed token
printf '%s' '{"token":"","access_token":"z","expires_in":18446744073709551615}' | seed token
printf '%s' '{"token":"a","expires_in":"300","x":{"y":[1,2,{"z":"\u00e9\\"["}]}}' | seed token

# auths.json sealed with the target's fixed key, as iSulad writes it
python3 - "$c/auths" <<'PY'
import base64, json, sys
import warnings
warnings.simplefilter("ignore")
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
key = b"0123456789abcdef0123456789abcdef"
def seal(user, password, iv=b"00112233445566ab"):
    inner = base64.b64encode(f"{user}:{password}".encode())
    enc = Cipher(algorithms.AES(key), modes.CFB(iv)).encryptor()
    return base64.b64encode(iv + enc.update(inner) + enc.finalize()).decode()
docs = [
    {"auths": {"127.0.0.1:5000": {"auth": seal("user", "pw")}}},
    {"auths": {"docker.io": {"auth": seal("alice", "s3cr3t:with:colons")},
               "reg.example:443": {"auth": seal("bob", "p" * 200)}}},
    {"auths": {"127.0.0.1:5000": {"auth": "not base64!"}, "docker.io": {"auth": ""}}},
    {"auths": {"docker.io": {"auth": seal("x", "y")[:-4]}}},
    {"auths": {}},
]
for i, d in enumerate(docs):
    open(f"{sys.argv[1]}/seed-auths-{i:02d}", "w").write(json.dumps(d, indent=1))
PY
printf '%s' 'user:password' | seed auths

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/t/dir"
printf 'hello\n' >"$tmp/t/dir/file"
printf 'x%.0s' $(seq 300) >"$tmp/t/big"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp/t" -cf "$tmp/l.tar" .
gzip -9 -n -c "$tmp/l.tar" >"$tmp/l.tar.gz"
zstd -q -19 -c "$tmp/l.tar" >"$tmp/l.tar.zst"
# mode: bits 0-1 sniff/none/gzip/zstd, bit 2 tar destination; then chunk size
{ bytes 0 7; cat "$tmp/l.tar.gz"; } | seed digester
{ bytes 6 1; cat "$tmp/l.tar.gz" "$tmp/l.tar.gz"; } | seed digester
{ bytes 3 64; cat "$tmp/l.tar.zst"; } | seed digester
{ bytes 4 3; cat "$tmp/l.tar.zst"; } | seed digester
{ bytes 1 200; cat "$tmp/l.tar"; } | seed digester
{ bytes 4 2; head -c 100 "$tmp/l.tar.gz"; } | seed digester
{ bytes 2 5; cat "$tmp/l.tar.gz"; printf 'trailing'; } | seed digester
