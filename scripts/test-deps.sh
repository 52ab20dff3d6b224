#!/usr/bin/env bash
# The tests start real brokers on loopback (Redis for the Redis transport and BullMQ, NATS,
# Mosquitto for MQTT, RabbitMQ) and a real HAProxy (rolling restart). Install Debian's
# packages when they are missing, so that `npm test` works on a fresh machine; say what is
# missing when they cannot be installed.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] || need+=(rabbitmq-server)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: installing ${need[*]} (Debian packages)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "test-deps: the tests need ${need[*]} on the PATH (Debian: apt-get install ${need[*]})" >&2
  exit 1
fi
