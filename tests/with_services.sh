#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster and Redis server on free loopback ports,
# exporting DATABASE_URL and REDIS_URL to it, and stops both afterwards, even when it fails.
# The chaos tests restart that PostgreSQL: TEST_PG_CTL is its pg_ctl command line (run as the
# cluster's owner) and TEST_PG_DATA its data directory.
# Exits with the command's status. Usage: tests/with_services.sh pytest [args...]
set -euo pipefail

work=$(mktemp -d /tmp/backoffice-services.XXXXXX)
chmod 755 "$work"
pg_pid_dir="$work/pg"
redis_pid="$work/redis.pid"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# PostgreSQL refuses to run as root: as root, run it as an unprivileged user.
if [ "$(id -u)" = 0 ]; then
  pg_user=postgres
  id -u "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
  as_pg() { runuser -u "$pg_user" -- "$@"; }
else
  as_pg() { "$@"; }
fi

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  initdb_path=$(command -v initdb || true)
  [ -n "$initdb_path" ] || { echo "PostgreSQL server binaries (initdb, pg_ctl) not found" >&2; exit 2; }
  pg_bin=$(dirname "$initdb_path")
fi
command -v redis-server >/dev/null || { echo "redis-server not found (make test installs it as root)" >&2; exit 2; }

stop_services() {
  if [ -f "$pg_pid_dir/data/postmaster.pid" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_pid_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$redis_pid" ]; then
    kill "$(cat "$redis_pid")" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_services EXIT
trap 'exit 130' INT TERM

pg_port=$(free_port)
mkdir -p "$pg_pid_dir"
[ "$(id -u)" = 0 ] && chown "$pg_user" "$pg_pid_dir"
as_pg "$pg_bin/initdb" -D "$pg_pid_dir/data" -U postgres -A trust -E UTF8 --lc-collate=C --lc-ctype=C.UTF-8 --lc-messages=C --lc-monetary=C --lc-numeric=C --lc-time=C --no-sync >"$work/initdb.log" 2>&1 \
  || { cat "$work/initdb.log" >&2; exit 2; }
# Durability is not wanted in a throwaway cluster; speed is.
as_pg "$pg_bin/pg_ctl" -D "$pg_pid_dir/data" -l "$pg_pid_dir/server.log" -w -t 60 start -o \
  "-c port=$pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pg_pid_dir \
   -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null \
  || { cat "$pg_pid_dir/server.log" >&2; exit 2; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$redis_pid" --logfile "$work/redis.log" --dir "$work" >/dev/null
for _ in $(seq 50); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done

export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/backoffice"
if [ "$(id -u)" = 0 ]; then
  export TEST_PG_CTL="runuser -u $pg_user -- $pg_bin/pg_ctl"
else
  export TEST_PG_CTL="$pg_bin/pg_ctl"
fi
export TEST_PG_DATA="$pg_pid_dir/data"
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
echo "services: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port"

set +e
"$@"
status=$?
set -e
exit $status
