# Unmodified Telegram bots against the real server binary (Tests/Bots/bots_e2e.py): a
# python-telegram-bot 22 echo bot and an aiogram 3 inline-keyboard bot, by long polling and by
# webhook, with media both ways and a 429 they must honour. The libraries come from PyPI into a
# virtualenv of their own (pinned major versions, so a system-wide install of another version does
# not matter), kept between runs in COURIER_BOTS_VENV (default ~/.cache/courier/bots-venv).
# Sourced by scripts/test, after packages.sh.

# bots_e2e_run BINARY: runs the test against BINARY; the servers' and the bots' logs go to test-output/bots/.
bots_e2e_run() {
    local binary=$1
    local venv=${COURIER_BOTS_VENV:-$HOME/.cache/courier/bots-venv}
    local requirements=("python-telegram-bot[webhooks,rate-limiter]==22.*" "aiogram==3.*")
    # What the test imports, at the versions it was written for.
    local check='import telegram, aiogram, tornado, aiolimiter; assert telegram.__version__.startswith("22.") and aiogram.__version__.startswith("3.")'
    if ! "$venv/bin/python" -c "$check" 2>/dev/null; then
        python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null || ensure_packages python3-venv
        rm -rf "$venv"
        python3 -m venv "$venv"
        echo "scripts/test: installing ${requirements[*]} into $venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
        "$venv/bin/python" -c "$check"
    fi
    rm -rf test-output/bots
    "$venv/bin/python" Tests/Bots/bots_e2e.py --server "$binary" --output test-output/bots
}
