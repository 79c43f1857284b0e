#!/bin/sh
# Installs every build and test dependency of berth from Debian packages.
# Idempotent: packages already present are left as they are.
set -eu

PKGS="build-essential cmake ninja-build pkg-config
      liblua5.4-dev lua5.4 libevent-dev libcjson-dev libyaml-dev
      libcurl4-openssl-dev libssl-dev lua-busted busybox-static etcd-server
      python3 tar gzip
      iproute2 nftables iptables valgrind"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done

if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $missing
fi
echo "install-deps: all dependencies present"
