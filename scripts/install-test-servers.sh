#!/usr/bin/env bash
# Installs (Debian, as root) what the test suite runs against: PostgreSQL 15, Chromium, OpenLDAP slapd and a Samba
# AD DC. Only missing packages are installed. Package scripts must not start system services: the tests start
# their own throwaway slapd and Samba on loopback and stop them after, and a system slapd/samba would hold the ports.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/sbin/slapd ] || need+=(slapd)
command -v ldapadd >/dev/null || need+=(ldap-utils)
command -v samba-tool >/dev/null || need+=(samba samba-ad-provision samba-dsdb-modules winbind)
# samba-vfs-modules carries acl_xattr, without which a domain cannot be provisioned.
dpkg -s samba-vfs-modules >/dev/null 2>&1 || need+=(samba-vfs-modules)
command -v openssl >/dev/null || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0

echo "installing: ${need[*]}"
added_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  added_policy=1
fi
apt-get update
apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need[@]}"
[ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d
# Belt and braces: stop anything the packages started anyway.
for s in slapd samba-ad-dc smbd nmbd winbind; do
  service "$s" stop >/dev/null 2>&1 || true
done
exit 0
