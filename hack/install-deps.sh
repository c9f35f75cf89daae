#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real (hack/deps.sh lists them) when any is missing.
# Needs root. POLICY_RC_D (default /usr/sbin/policy-rc.d) is where the "start no daemons" policy goes meanwhile.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# shellcheck source=hack/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"

read -r -a missing <<<"$(missing_packages)"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  # policy-rc.d keeps Debian's maintainer scripts from starting daemons we start ourselves.
  policy=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "all Debian packages present"
fi
