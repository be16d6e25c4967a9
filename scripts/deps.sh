#!/bin/sh
# Install the Debian packages Signet needs to build, test and benchmark.
# Does nothing when everything is already present.
set -eu
PKGS="build-essential pkg-config clang clang-format libgnutls28-dev nettle-dev libldns-dev
libsqlite3-dev sqlite3 libcurl4-openssl-dev libevent-dev libcmocka-dev liburcu-dev
python3 python3-dnspython python3-pytest knot knot-dnsutils nsd bind9 bind9-utils
ldnsutils unbound etcd-server etcd-client dnsperf pdns-server pdns-backend-sqlite3 curl gnutls-bin
python3-cryptography openssl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# Packaged daemons (knot, nsd, named, unbound, etcd, pdns) must not start on install:
# the tests start their own copies on loopback ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q || true
$SUDO apt-get install -y -q --no-install-recommends $missing
