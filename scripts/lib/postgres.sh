# A throwaway PostgreSQL cluster in a folder, on a free loopback port. Sourced by scripts/test.
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.

postgres_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

postgres_version() {
    "$(postgres_bin)/postgres" --version | awk '{print $3}'
}

# Runs a command as the cluster's owner.
as_postgres_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# postgres_start FOLDER: creates and starts a cluster under FOLDER; sets POSTGRES_URL.
postgres_start() {
    local folder=$1 bin port
    bin=$(postgres_bin)
    [ -n "$bin" ] || { echo "scripts/test: PostgreSQL is not installed" >&2; return 1; }
    port=$(free_port)
    mkdir -p "$folder/pg"
    [ "$(id -u)" -eq 0 ] && chown -R postgres: "$folder/pg"
    chmod 755 "$folder"
    as_postgres_owner "$bin/initdb" -D "$folder/pg/data" -U courier --auth=trust -E UTF8 --no-locale >"$folder/pg/initdb.log" 2>&1 \
        || { cat "$folder/pg/initdb.log" >&2; return 1; }
    # Durability is pointless for a cluster deleted after the run; without it the tests run faster.
    # Benchmarks set POSTGRES_DURABLE=1 to measure what a real deployment pays.
    local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${POSTGRES_DURABLE:-0}" = 1 ] && durability=""
    as_postgres_owner "$bin/pg_ctl" -D "$folder/pg/data" -l "$folder/pg/server.log" -w -t 60 start \
        -o "-p $port -k $folder/pg -c listen_addresses=127.0.0.1 $durability -c max_connections=300" \
        >/dev/null || { cat "$folder/pg/server.log" >&2; return 1; }
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U courier courier_test
    POSTGRES_URL="postgres://courier@127.0.0.1:$port/courier_test"
}

# postgres_stop FOLDER: stops the cluster started under FOLDER, if it runs.
postgres_stop() {
    local folder=$1
    [ -f "$folder/pg/data/postmaster.pid" ] || return 0
    as_postgres_owner "$(postgres_bin)/pg_ctl" -D "$folder/pg/data" -m fast -w stop >/dev/null
}
