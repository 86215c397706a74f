# The operator's side: the deployment files check out (systemd-analyze verify on the unit, Caddy
# on the Caddyfile), and backup, verify and restore round-trip through the built binary on SQLite
# and PostgreSQL while a writer keeps sending (Tests/Operations/operations.py). Sourced by
# scripts/test, after packages.sh and postgres.sh.

# operations_run BINARY: logs in test-output/operations/.
operations_run() {
    local binary work port
    binary=$(realpath "$1")
    # pg_dump and pg_restore come with Debian's postgresql, which scripts/test installs.
    ensure_packages systemd caddy
    work=$(mktemp -d /tmp/courier-operations.XXXXXX)
    chmod 700 "$work"
    # The unit as installed, pointed at this build (verify checks that ExecStart exists).
    local unit
    for unit in courier.service courier-backup.service courier-backup.timer; do
        sed -e "s#/opt/courier/courier#$binary#" -e "s#EnvironmentFile=/etc/courier/courier.env#EnvironmentFile=$PWD/deploy/courier.env#" \
            "deploy/$unit" > "$work/$unit"
    done
    systemd-analyze verify "$work/courier.service" "$work/courier-backup.service" "$work/courier-backup.timer"
    caddy validate --adapter caddyfile --config deploy/Caddyfile > /dev/null 2>&1 || caddy validate --adapter caddyfile --config deploy/Caddyfile
    port=$(echo "$POSTGRES_URL" | sed -E 's#.*:([0-9]+)/.*#\1#')
    for database in courier_ops_source courier_ops_target; do
        "$(postgres_bin)/dropdb" -h 127.0.0.1 -p "$port" -U courier --if-exists "$database"
        "$(postgres_bin)/createdb" -h 127.0.0.1 -p "$port" -U courier "$database"
    done
    rm -rf test-output/operations
    python3 Tests/Operations/operations.py --server "$binary" --work "$work" --output test-output/operations \
        --database-url-base "${POSTGRES_URL%/*}"
    rm -rf "$work"
}
