# Installs Debian packages that are missing, with sudo when not root. Sourced by scripts/test.

ensure_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "scripts/test: installing ${missing[*]}"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ensure_python_modules "module …" "pypi-package …": installs the packages when a module is missing.
ensure_python_modules() {
    python3 -c "import ${1// /, }" 2>/dev/null && return 0
    python3 -m pip --version >/dev/null 2>&1 || ensure_packages python3-pip
    # shellcheck disable=SC2086
    python3 -m pip install --quiet --disable-pip-version-check $2 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages $2
}
