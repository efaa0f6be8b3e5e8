#!/usr/bin/env bash
# Start the real database servers the `postgres` and `mongo` test markers need.
#
# Idempotent: a second run finds both servers answering and only prints the exports again.
#   * PostgreSQL 15 (Debian packages; installed with apt if absent) in a throwaway cluster
#     owned by the postgres user, listening on 127.0.0.1 only, password auth (scram).
#   * FerretDB v1.24.x (MongoDB wire protocol) built from the Go module proxy, SQLite backend,
#     listening on 127.0.0.1 only. The Go build cache makes rebuilds near-instant.
#   * mongodump/mongorestore from github.com/mongodb/mongo-tools, best effort
#     (JITERA_BUILD_MONGO_TOOLS=0 skips it); without them the harness writes the same
#     directory layout with pymongo.
#
# `.ci/start-datastores.sh --stop` stops both servers again.
#
# Output: `export JITERA_TEST_POSTGRES_DSN=...` / `export JITERA_TEST_MONGO_URI=...` on stdout,
# also written to "$STATE/env.sh" so a CI step can `source` it.
#
# Knobs (environment): JITERA_DATASTORES_STATE (default /var/tmp/jitera-datastores),
# JITERA_DATASTORES (postgres,mongo: which servers to start), JITERA_PG_PORT (55432, away
# from a distribution cluster on 5432), JITERA_MONGO_PORT (27017), JITERA_PG_PASSWORD
# (random on first start, then kept in the state directory).
set -euo pipefail

STATE=${JITERA_DATASTORES_STATE:-/var/tmp/jitera-datastores}
PG_PORT=${JITERA_PG_PORT:-55432}
MONGO_PORT=${JITERA_MONGO_PORT:-27017}
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_DATA=$STATE/pg$PG_MAJOR
PG_USER=jitera
FERRET_VERSION=${JITERA_FERRETDB_VERSION:-v1.24.2}
MONGO_TOOLS_VERSION=${JITERA_MONGO_TOOLS_VERSION:-100.10.0}
BIN=$STATE/bin
WANT=${JITERA_DATASTORES:-postgres,mongo}
want() { case ",$WANT," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

log() { printf '[start-datastores] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [ "${1:-}" = "--stop" ]; then
    # Stop what an earlier run started; data and binaries stay for the next start.
    if [ -f "$PG_DATA/postmaster.pid" ]; then
        if [ "$(id -u)" = 0 ]; then
            runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null
        else
            "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null
        fi
        log "PostgreSQL stopped"
    fi
    if [ -f "$STATE/ferretdb.pid" ] && kill "$(cat "$STATE/ferretdb.pid")" 2>/dev/null; then
        rm -f "$STATE/ferretdb.pid"
        log "FerretDB stopped"
    fi
    exit 0
fi

mkdir -p "$STATE" "$BIN"
chmod 755 "$STATE"

# --- PostgreSQL -------------------------------------------------------------------------
start_postgres() {
if [ ! -x "$PG_BIN/postgres" ] || ! command -v pg_dump >/dev/null; then
    log "installing postgresql-$PG_MAJOR with apt"
    [ "$(id -u)" = 0 ] || die "postgresql-$PG_MAJOR is missing and apt needs root"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$PG_MAJOR" >/dev/null
fi

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -f "$STATE/pg-password" ]; then
    PG_PASSWORD=$(cat "$STATE/pg-password")
else
    PG_PASSWORD=${JITERA_PG_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')}
    umask 077; printf '%s' "$PG_PASSWORD" >"$STATE/pg-password"; umask 022
fi

if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "creating PostgreSQL $PG_MAJOR cluster in $PG_DATA"
    mkdir -p "$PG_DATA"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DATA"
    as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$STATE/initdb.log"
    cat >>"$PG_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DATA'
max_connections = 100
shared_buffers = 512MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
fi

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
if ! pg_ready; then
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $STATE/postgres.log)"
    touch "$STATE/postgres.log"; [ "$(id -u)" = 0 ] && chown postgres "$STATE/postgres.log"
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$STATE/postgres.log" -w -t 60 start >/dev/null
fi
for _ in $(seq 60); do pg_ready && break; sleep 1; done
pg_ready || die "PostgreSQL did not answer on 127.0.0.1:$PG_PORT; see $STATE/postgres.log"

# The password travels on stdin (psql variable), never on a command line.
as_postgres "$PG_BIN/psql" -X -q -h "$PG_DATA" -p "$PG_PORT" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -v "pw=$PG_PASSWORD" -v "role=$PG_USER" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN SUPERUSER', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'pw') \gexec
SQL
PG_DSN="postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres"
}

# --- FerretDB ---------------------------------------------------------------------------
start_mongo() {
command -v go >/dev/null || die "go is needed to build FerretDB (install Go >= 1.22)"
if [ ! -x "$BIN/ferretdb" ] || [ "$(cat "$BIN/ferretdb.version" 2>/dev/null)" != "$FERRET_VERSION" ] \
    || ! "$BIN/ferretdb" --version >/dev/null 2>&1; then
    log "building FerretDB $FERRET_VERSION (cached by the Go build cache)"
    # Module zips lack the generated build/version/version.txt that FerretDB's main package
    # insists on, so build from a writable copy of the module with that file written, as
    # FerretDB's build/version docs suggest.
    src=$STATE/ferretdb-src
    (set -e
     dir=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRET_VERSION" \
           | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
     rm -rf "$src"; cp -r "$dir" "$src"; chmod -R u+w "$src"
     echo "$FERRET_VERSION" >"$src/build/version/version.txt"
     cd "$src" && GOFLAGS=-buildvcs=false go build -o "$BIN/ferretdb" ./cmd/ferretdb) \
        >"$STATE/ferretdb-build.log" 2>&1 || die "FerretDB build failed; see $STATE/ferretdb-build.log"
    echo "$FERRET_VERSION" >"$BIN/ferretdb.version"
fi

mongo_ready() {
    # A MongoDB "ping" when pymongo is importable (CI's venv), else a TCP connect.
    python3 - "$MONGO_PORT" <<'PY' 2>/dev/null
import socket, sys
port = int(sys.argv[1])
try:
    import pymongo
except ImportError:
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
else:
    pymongo.MongoClient("127.0.0.1", port, serverSelectionTimeoutMS=1000).admin.command("ping")
PY
}
if ! mongo_ready; then
    log "starting FerretDB on 127.0.0.1:$MONGO_PORT (log: $STATE/ferretdb.log)"
    mkdir -p "$STATE/ferretdb-data"
    nohup "$BIN/ferretdb" --handler=sqlite --sqlite-url="file:$STATE/ferretdb-data/" \
        --listen-addr="127.0.0.1:$MONGO_PORT" --debug-addr=- --telemetry=disable \
        --log-level=warn >"$STATE/ferretdb.log" 2>&1 &
    echo $! >"$STATE/ferretdb.pid"
    for _ in $(seq 60); do
        mongo_ready && break
        kill -0 "$(cat "$STATE/ferretdb.pid")" 2>/dev/null || break  # exited: see its log
        sleep 1
    done
fi
mongo_ready || die "FerretDB did not answer on 127.0.0.1:$MONGO_PORT; see $STATE/ferretdb.log"
MONGO_URI="mongodb://127.0.0.1:$MONGO_PORT/"
}

# --- mongo-tools (optional) -------------------------------------------------------------
build_mongo_tools() {
if [ "${JITERA_BUILD_MONGO_TOOLS:-1}" = 1 ] && [ ! -e "$BIN/mongo-tools.failed" ] \
    && { [ ! -x "$BIN/mongodump" ] || [ ! -x "$BIN/mongorestore" ]; }; then
    log "building mongodump/mongorestore $MONGO_TOOLS_VERSION (best effort)"
    mod=$STATE/mongo-tools-mod
    mkdir -p "$mod"
    if (cd "$mod" && { [ -f go.mod ] || go mod init jitera.local/mongotools >/dev/null 2>&1; } \
        && go get "github.com/mongodb/mongo-tools/mongodump/main@$MONGO_TOOLS_VERSION" "github.com/mongodb/mongo-tools/mongorestore/main@$MONGO_TOOLS_VERSION" \
        && go build -o "$BIN/mongodump" github.com/mongodb/mongo-tools/mongodump/main \
        && go build -o "$BIN/mongorestore" github.com/mongodb/mongo-tools/mongorestore/main) \
        >"$STATE/mongo-tools-build.log" 2>&1; then
        log "mongo-tools built into $BIN"
    else
        log "mongo-tools did not build (see $STATE/mongo-tools-build.log); pymongo fallback is used"
        rm -f "$BIN/mongodump" "$BIN/mongorestore"
        touch "$BIN/mongo-tools.failed"
    fi
fi
}

PG_DSN=""
MONGO_URI=""
if want postgres; then start_postgres; fi
if want mongo; then start_mongo; build_mongo_tools; fi

{
    [ -z "$PG_DSN" ] || echo "export JITERA_TEST_POSTGRES_DSN='$PG_DSN'"
    [ -z "$MONGO_URI" ] || echo "export JITERA_TEST_MONGO_URI='$MONGO_URI'"
    if [ -x "$BIN/mongodump" ] && [ -x "$BIN/mongorestore" ]; then
        echo "export JITERA_MONGO_TOOLS_DIR='$BIN'"
    fi
} | tee "$STATE/env.sh"
chmod 600 "$STATE/env.sh"
log "ready; \`source $STATE/env.sh\` to use them"
