#!/usr/bin/env bash
# Make sure the local servers the tests and the demo use are listening on
# their default loopback ports: start one that is installed but stopped, and
# say clearly which one is missing otherwise.
# Usage: ensure-services.sh [postgres] [redis] [rabbitmq] [nats]
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port seconds
  local i
  for ((i = 0; i < $3 * 4; i++)); do
    port_open "$2" && return 0
    sleep 0.25
  done
  echo "error: $1 did not start listening on 127.0.0.1:$2 within $3s" >&2
  return 1
}

start_postgres() {
  command -v pg_ctlcluster >/dev/null || { missing postgres postgresql; return 1; }
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
}
start_redis() {
  command -v redis-server >/dev/null || { missing redis redis-server; return 1; }
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}
start_rabbitmq() {
  command -v rabbitmq-server >/dev/null || { missing rabbitmq rabbitmq-server; return 1; }
  rabbitmq-server -detached
}
start_nats() {
  [ -x /usr/sbin/nats-server ] || { missing nats nats-server; return 1; }
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
}
missing() {
  echo "error: $1 is not installed and nothing listens on its port;" \
    "install the Debian package '$2' (apt-get install $2) or start it yourself" >&2
}

status=0
for service in "$@"; do
  case "$service" in
    postgres) port=5432 wait=30 ;;
    redis) port=6379 wait=15 ;;
    rabbitmq) port=5672 wait=90 ;;
    nats) port=4222 wait=15 ;;
    *) echo "error: unknown service '$service'" >&2; exit 2 ;;
  esac
  port_open "$port" && continue
  echo "$service is not listening on 127.0.0.1:$port: starting it" >&2
  if "start_$service" && wait_port "$service" "$port" "$wait"; then
    echo "$service started" >&2
  else
    status=1
  fi
done
exit $status
