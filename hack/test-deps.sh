#!/usr/bin/env bash
# npm test's pretest: makes sure the Debian packages and local services the test suite uses for real
# (hack/deps.sh) are there, taking a few milliseconds when they are. As root it installs what is missing
# (hack/install-deps.sh) and starts what is down (hack/ensure-services.sh); as another user it stops at once
# with one line naming what is missing and the command that fixes it. SKIP_TEST_DEPS=1 skips the check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=hack/deps.sh
source hack/deps.sh

[ "${SKIP_TEST_DEPS:-}" = 1 ] && exit 0
if ! command -v dpkg-query >/dev/null; then
  echo "npm test: cannot check the test dependencies without dpkg-query (Debian/Ubuntu); install ${DEBIAN_PACKAGES[*]} (or your system's equivalents), start PostgreSQL, Redis and RabbitMQ on 127.0.0.1, then run SKIP_TEST_DEPS=1 npm test" >&2
  exit 1
fi

packages=$(missing_packages)
services=$(services_down)
[ -z "$packages" ] && [ -z "$services" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  [ -z "$packages" ] || { echo "npm test: installing the missing Debian packages: $packages"; bash hack/install-deps.sh; }
  [ -z "$services" ] || { echo "npm test: starting the local services that are down: $services"; bash hack/ensure-services.sh; }
  still=$(missing_packages)
  [ -z "$still" ] || { echo "npm test: still missing after hack/install-deps.sh: $still" >&2; exit 1; }
  exit 0
fi

missing=() fix=()
if [ -n "$packages" ]; then
  missing+=("the Debian packages $packages")
  fix+=("sudo bash hack/install-deps.sh")
fi
if [ -n "$services" ]; then
  missing+=("the local services $services (nothing answers on 127.0.0.1)")
  fix+=("sudo bash hack/ensure-services.sh")
fi
echo "npm test: missing ${missing[0]}${missing[1]:+ and ${missing[1]}}; run: ${fix[0]}${fix[1]:+ && ${fix[1]}}, then npm test again" >&2
exit 1
