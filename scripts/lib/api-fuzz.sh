# Property-based fuzzing of the REST API (Tests/APIFuzz/fuzz.py): schemathesis generates requests
# from the OpenAPI document the server serves and sends them to the real server binary, signed in
# as a seeded account. Fails on any response with status >= 500 or a crashed server; schema
# conformance findings are printed but do not fail. Installs schemathesis from PyPI when missing.
# Sourced by scripts/test, after packages.sh.
# COURIER_FUZZ_SECONDS (default 75) and COURIER_FUZZ_EXAMPLES (default 50) make a longer run,
# COURIER_FUZZ_SEED replays one; the whole run takes a few seconds more than the budget.

# api_fuzz_run BINARY: runs it against BINARY; the server log and the reports go to test-output/api-fuzz/.
api_fuzz_run() {
    local binary=$1
    ensure_python_modules "schemathesis" "schemathesis>=4,<5"
    rm -rf test-output/api-fuzz
    python3 Tests/APIFuzz/fuzz.py --server "$binary" --output test-output/api-fuzz
}
