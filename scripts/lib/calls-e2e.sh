# The browser test of calls (Tests/Calls/calls_e2e.py): Debian's coturn on loopback, started from
# deploy/turnserver.conf, and two headless chromium sessions with fake camera and microphone that
# call each other through it. Sourced by scripts/test, after packages.sh and web-e2e.sh's packages.

# calls_e2e_run BINARY: runs the test against BINARY; screenshots and logs go to test-output/calls/.
calls_e2e_run() {
    local binary=$1
    ensure_packages coturn chromium chromium-driver
    ensure_python_modules "selenium" "selenium>=4,<5"
    rm -rf test-output/calls
    python3 Tests/Calls/calls_e2e.py --server "$binary" --output test-output/calls
}
