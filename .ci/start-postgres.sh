#!/usr/bin/env bash
# Start a throwaway PostgreSQL on 127.0.0.1 for the store tests and print the environment that points
# the tests at it:   eval "$(.ci/start-postgres.sh [DATA_DIR])"
# Installs the server from Debian's packages when it is missing. initdb refuses root, so the cluster
# runs as the postgres user, in a folder it can enter.
set -euo pipefail
DIR=${1:-$(mktemp -d -t autolog-pg.XXXXXX)}
PORT=${AUTOLOG_TEST_POSTGRES_PORT:-55432}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$BIN" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
mkdir -p "$DIR" && chmod 755 "$DIR" && chown postgres: "$DIR"
runuser -u postgres -- "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR" start >/dev/null
echo "export AUTOLOG_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PORT/postgres"
echo "export AUTOLOG_TEST_POSTGRES_STOP='runuser -u postgres -- $BIN/pg_ctl -D $DIR/data -m immediate stop'"
