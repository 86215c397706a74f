# `swift test` with a time limit. Sourced by scripts/test.
#
# swift_test_within SECONDS ARGS...: runs `swift test --skip-build --disable-xctest ARGS...` and
# prints what it prints, less the per-start lines of its verbose output (kept in a log so that
# an overrun can say which tests were running), then when the test cases that ended last started
# and ended (swift-test-printer.py). A run still going after SECONDS is a hang: the
# tests that started and did not end and every thread's stack are printed, the run is killed and
# the function fails, well before CI's own limit, with the reason in its output.
swift_test_within() {
    local limit=$1 log runner printer watchdog status
    shift
    log=$(mktemp /tmp/courier-swift-test.XXXXXX)
    # Line-buffered (stdbuf reaches the test process through its environment), so that the log
    # holds what the tests printed up to the moment they hang.
    stdbuf -oL -eL swift test --skip-build --disable-xctest --verbose "$@" >"$log" 2>&1 &
    runner=$!
    tail -n +1 -f --pid="$runner" "$log" | python3 -u scripts/lib/swift-test-printer.py &
    printer=$!
    (
        trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
        sleep "$limit" &
        sleeper=$!
        wait "$sleeper"
        # Only this run's processes: `swift test` and the test binary it started.
        kill -0 "$runner" 2>/dev/null || exit 0
        tests=$(pgrep -P "$runner" | head -1 || true)
        echo "scripts/test: swift test $* still running after ${limit} s; this is what it was doing:" >&2
        if [ -n "$tests" ]; then
            python3 -u scripts/lib/swift-test-watch.py "$log" "$tests" >&2 || true
            kill -9 "$tests" 2>/dev/null || true
        fi
        kill "$runner" 2>/dev/null || true
    ) &
    watchdog=$!
    set +e
    wait "$runner"
    status=$?
    wait "$printer"
    set -e
    kill "$watchdog" 2>/dev/null || true
    wait "$watchdog" 2>/dev/null || true
    rm -f "$log"
    return "$status"
}
