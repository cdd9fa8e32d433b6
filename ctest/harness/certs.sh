#!/usr/bin/env bash
# certs.sh DIR - generate the TLS material used by the isula-registry C tests:
#   ca.crt/ca.key            test CA
#   server.crt/server.key    server cert for 127.0.0.1 + localhost (SAN), signed by ca
#   wrong-ca.crt/.key        an unrelated CA (verification must fail with it)
#   client-ca.crt/.key       CA that the mTLS listener trusts
#   client.cert/client.key   client certificate signed by client-ca (certs.d suffixes)
# All keys are unencrypted PEM.
set -euo pipefail

dir=${1:?usage: certs.sh DIR}
mkdir -p "$dir"
cd "$dir"

days=3650
subj_prefix="/O=isula-registry-ctest"

gen_ca() { # name cn
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
        -keyout "$1.key" -out "$1.crt" -subj "$subj_prefix/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

gen_leaf() { # key csr-subject-cn ca-name out-cert ext-file
    local key=$1 cn=$2 ca=$3 out=$4 ext=$5
    openssl req -new -newkey rsa:2048 -nodes -sha256 -keyout "$key" \
        -out "$out.csr" -subj "$subj_prefix/CN=$cn" 2>/dev/null
    openssl x509 -req -sha256 -days "$days" -in "$out.csr" -CA "$ca.crt" -CAkey "$ca.key" \
        -CAcreateserial -out "$out" -extfile "$ext" 2>/dev/null
    rm -f "$out.csr"
}

gen_ca ca "isula-registry test CA"
gen_ca wrong-ca "isula-registry WRONG CA"
gen_ca client-ca "isula-registry client CA"

cat > server.ext <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT
cat > client.ext <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EXT

gen_leaf server.key 127.0.0.1 ca server.crt server.ext
gen_leaf client.key isula-client client-ca client.cert client.ext
rm -f server.ext client.ext ./*.srl

# sanity checks: fail loudly if openssl produced something unusable
openssl verify -CAfile ca.crt server.crt >/dev/null
openssl verify -CAfile client-ca.crt client.cert >/dev/null
if openssl verify -CAfile wrong-ca.crt server.crt >/dev/null 2>&1; then
    echo "certs.sh: wrong-ca unexpectedly verifies server.crt" >&2
    exit 1
fi
chmod 600 ./*.key
echo "certs.sh: certificates written to $dir"
