#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real: pgbouncer, nginx, promtool (prometheus),
# the shell linter, and the PostgreSQL/Redis/RabbitMQ servers if the machine lacks them.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(pgbouncer nginx-light prometheus shellcheck postgresql redis-server rabbitmq-server)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  # policy-rc.d keeps Debian's maintainer scripts from starting daemons we start ourselves.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
else
  echo "all Debian packages present"
fi
