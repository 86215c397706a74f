# Two Courier nodes behind Caddy on one PostgreSQL and a Redis of the test's own, killed and
# restarted under load (Tests/MultiNode/multinode.py). Installs Debian's caddy and the Python
# `websockets` package when missing. Sourced by scripts/test, after packages.sh and postgres.sh.

# multinode_run BINARY FOLDER: runs the test against BINARY with a fresh database in the PostgreSQL
# cluster under FOLDER (POSTGRES_URL); the nodes' and Caddy's logs go to test-output/multinode/.
multinode_run() {
    local binary=$1 database port
    ensure_packages caddy redis-server
    ensure_python_modules "websockets.asyncio.client" "websockets>=13"
    database="courier_multinode_$$"
    port=$(echo "$POSTGRES_URL" | sed -E 's#.*:([0-9]+)/.*#\1#')
    "$(postgres_bin)/createdb" -h 127.0.0.1 -p "$port" -U courier "$database"
    rm -rf test-output/multinode
    python3 Tests/MultiNode/multinode.py --server "$binary" --database-url "${POSTGRES_URL%/*}/$database" \
        --output test-output/multinode ${COURIER_MULTINODE_SECONDS:+--duration "$COURIER_MULTINODE_SECONDS"}
}
