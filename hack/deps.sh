# shellcheck shell=bash
# What the test suite runs for real, in one place: the Debian packages and the local services. Sourced by
# hack/install-deps.sh, hack/ensure-services.sh and hack/test-deps.sh (npm test's pretest).

# pgbouncer, nginx, promtool (prometheus), openssl and shellcheck are run by the tests and CI; PostgreSQL 15
# (its binaries under /usr/lib/postgresql/15/bin), Redis and RabbitMQ are the services, and their binaries.
DEBIAN_PACKAGES=(pgbouncer nginx-light prometheus openssl shellcheck postgresql redis-server rabbitmq-server)

# name:port of each local service the tests connect to on 127.0.0.1.
SERVICES=(PostgreSQL:5432 Redis:6379 RabbitMQ:5672)

# Prints the packages of DEBIAN_PACKAGES that dpkg does not list as installed, space-separated.
missing_packages() {
  local installed
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${DEBIAN_PACKAGES[@]}" 2>/dev/null || true)
  local p missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    grep -qx "$p installed" <<<"$installed" || missing+=("$p")
  done
  echo "${missing[*]}"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints the services of SERVICES that do not accept a connection, as name:port, space-separated.
services_down() {
  local s down=()
  for s in "${SERVICES[@]}"; do
    port_open "${s#*:}" || down+=("$s")
  done
  echo "${down[*]}"
}
