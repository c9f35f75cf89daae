#!/usr/bin/env bash
# Makes sure PostgreSQL (5432), Redis (6379) and RabbitMQ (5672) answer on 127.0.0.1, starting any that
# is down with the machine's own commands. Exits non-zero if one cannot be brought up.
set -euo pipefail
# shellcheck source=hack/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"

wait_port() {
  local name=$1 port=$2 tries=${3:-60}
  for _ in $(seq "$tries"); do
    port_open "$port" && { echo "$name is up on :$port"; return 0; }
    sleep 1
  done
  echo "$name did not come up on :$port" >&2
  return 1
}

if ! port_open 5432; then
  echo "starting PostgreSQL"
  # shellcheck disable=SC2046
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
fi
wait_port PostgreSQL 5432

if ! port_open 6379; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_port Redis 6379

if ! port_open 5672; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached
fi
wait_port RabbitMQ 5672 120
# The management API is not needed; the broker must accept AMQP logins before tests start.
for _ in $(seq 60); do
  rabbitmqctl -q status >/dev/null 2>&1 && break
  sleep 1
done
