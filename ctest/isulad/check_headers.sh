#!/usr/bin/env bash
# The library's headers as iSulad's daemon build sees them.
#
# Lays out a registry directory exactly as README.md's "Linking into iSulad"
# says (only the headers it names, copied from include/), puts the daemon's
# own progress.h, utils_timestamp.h and libisula's generated
# imagetool_search_result.h (stand-ins in daemon/include, declared as iSulad
# and libisula declare them: anonymous typedefs, same include guards) ahead
# of it, and compiles with iSulad's C flags (cmake/set_build_flags.cmake)
# and -Werror:
#   - every copied header alone,
#   - the daemon files that include them (daemon/consumers: oci_pull.c,
#     oci_search.c in both include orders, oci_login.c, image_store.c and
#     registry_type.c).
# usage: check_headers.sh CC REPO_INCLUDE_DIR WORK_DIR
set -euo pipefail
cc=$1 include=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)

# README.md: the headers that go into iSulad's registry directory.
daemon_headers=(registry.h registry_type.h registry_apiv2.h http_request.h aes.h)

rm -rf "$work" && mkdir -p "$work/registry" "$work/obj"
for h in "${daemon_headers[@]}"; do cp "$include/$h" "$work/registry/"; done

# iSulad's flags, and the defines README.md tells the daemon build to set.
flags=(-fPIC -fstack-protector-all -D_FORTIFY_SOURCE=2 -O2 -Wall -fPIE -Werror
       -DENABLE_IMAGE_SEARCH -DISULA_REGISTRY_ISULAD -DISULA_REGISTRY_USE_LIBISULA
       -I"$here/daemon/include" -I"$work/registry")

failed=0
compile() { # NAME SOURCE [EXTRA FLAGS...]
  local name=$1 src=$2; shift 2
  if "$cc" "${flags[@]}" "$@" -c "$src" -o "$work/obj/$name.o" 2>"$work/obj/$name.err"; then
    echo "ok   $name"
  else
    echo "FAIL $name"; sed 's/^/     /' "$work/obj/$name.err"; failed=1
  fi
}

for h in "${daemon_headers[@]}"; do
  printf '#include "%s"\n' "$h" >"$work/obj/alone_$h.c"
  compile "alone_$h" "$work/obj/alone_$h.c"
done
for c in oci_pull oci_login image_store registry_type; do
  compile "$c" "$here/daemon/consumers/$c.c"
done
compile oci_search "$here/daemon/consumers/oci_search.c"
compile oci_search_libisula_first "$here/daemon/consumers/oci_search.c" -DLIBISULA_FIRST

if ((failed)); then
  echo "the headers do not compile as iSulad's daemon includes them (see above)" >&2
  exit 1
fi
echo "all headers compile as the daemon includes them"
