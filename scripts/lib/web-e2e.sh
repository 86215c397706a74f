# The web client's end-to-end test (Tests/WebClient/e2e.py): two headless chromium sessions drive
# the app against the real server binary. Installs Debian's chromium, chromium-driver and
# zbar-tools (to decode the 2FA QR code the page draws) and Selenium from PyPI when missing.
# Sourced by scripts/test, after packages.sh.

# web_e2e_run BINARY: runs the test against BINARY; screenshots and the server log go to test-output/web/.
web_e2e_run() {
    local binary=$1
    ensure_packages chromium chromium-driver zbar-tools
    ensure_python_modules "selenium" "selenium>=4,<5"
    rm -rf test-output/web
    python3 Tests/WebClient/e2e.py --server "$binary" --output test-output/web
}
