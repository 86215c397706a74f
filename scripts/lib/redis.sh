# A throwaway Redis (Debian's redis-server) on a free loopback port, with a password and nothing
# written to disk, for the Redis client's tests. Sourced by scripts/test, after packages.sh.

# redis_start FOLDER: starts it with its log in FOLDER/redis/; exports COURIER_TEST_REDIS_URL.
redis_start() {
    local folder=$1 port password waited=0
    ensure_packages redis-server
    port=$(free_port)
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    mkdir -p "$folder/redis"
    redis-server --bind 127.0.0.1 --port "$port" --requirepass "$password" --save "" --appendonly no \
        --dir "$folder/redis" --logfile "$folder/redis/redis.log" --pidfile "$folder/redis/redis.pid" --daemonize yes
    until redis-cli -h 127.0.0.1 -p "$port" -a "$password" --no-auth-warning ping 2>/dev/null | grep -q PONG; do
        waited=$((waited + 1))
        if [ "$waited" -gt 100 ]; then
            echo "scripts/test: redis-server did not start; see $folder/redis/redis.log" >&2
            return 1
        fi
        sleep 0.1
    done
    export COURIER_TEST_REDIS_URL="redis://:$password@127.0.0.1:$port"
    REDIS_PORT=$port
}

# redis_stop FOLDER: stops the server redis_start started.
redis_stop() {
    local pidfile="$1/redis/redis.pid"
    [ -f "$pidfile" ] || return 0
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
}
