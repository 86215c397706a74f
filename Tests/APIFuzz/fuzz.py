#!/usr/bin/env python3
"""Property-based fuzzing of the REST API against its own OpenAPI document, with schemathesis.

It starts the real server binary on a free port with a fresh data folder (SQLite, rate limits off,
cheap bcrypt, and the fake Telegram Bot API of the web client's test so the Telegram routes are
live), registers two accounts (the first a server administrator, through `courier admin grant`) and
seeds a DM, a group, messages and a public channel, then runs
`schemathesis run` over `GET /api/v1/openapi.yaml` for a fixed time budget. Authenticated routes
are exercised as the first account: schemathesis signs in through `POST /api/v1/auth/login` and
signs in again whenever a request answers 401, because the fuzzed operations themselves sign that
session out now and then (`POST /auth/logout`, `DELETE /auth/sessions/{id}`).

    python3 Tests/APIFuzz/fuzz.py --server .build/debug/courier [--output test-output/api-fuzz]

The run fails when any response had a status >= 500, when a request could not reach the server
(a crash or a hang past the request timeout), or when the server died. Other schemathesis checks
(schema conformance and the like) are reported but do not fail it. Settings, from the environment:

    COURIER_FUZZ_SECONDS   schemathesis' time budget (default 75; the whole run takes a few seconds more)
    COURIER_FUZZ_EXAMPLES  test cases per operation and phase round (default 50)
    COURIER_FUZZ_SEED      a seed, to replay a run (default: random, printed)
    COURIER_FUZZ_WORKERS   concurrent schemathesis workers (default 1: the server needs the other core)

Left in the output folder: server.log, schemathesis.log (its console output), report.json,
events.ndjson (every request and response), junit.xml, and server-errors.txt with a curl command
per 5xx. The last line printed is `api-fuzz: …`.
"""

import argparse
import base64
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "WebClient"))
from courier_server import CourierServer  # noqa: E402 - after the path is set
from fake_telegram import FakeTelegram  # noqa: E402

PASSWORD = "correct horse battery"


def env_int(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def seed(server, suffix):
    """Two accounts and something to find: a DM, a group, messages, a public channel."""
    phone = f"+1415{random.randint(1000000, 9999999)}"
    alice = server.api("POST", "/auth/register", {"phone": phone, "password": PASSWORD, "username": f"fuzz_{suffix}"})
    bob = server.api("POST", "/auth/register", {
        "phone": f"+1416{random.randint(1000000, 9999999)}", "password": PASSWORD, "username": f"fuzzpeer_{suffix}",
    })
    token = alice["token"]
    dm = server.api("POST", "/chats", {"type": "dm", "user_id": bob["user"]["id"]}, token)
    group = server.api("POST", "/chats", {"type": "group", "name": "Fuzz", "member_ids": [bob["user"]["id"]]}, token)
    for chat in (dm, group):
        server.api("POST", "/messages", {"chat_id": chat["id"], "content": "hello", "message_type": "text"}, token)
    channel = server.api("POST", "/channels", {"name": "Fuzz news", "username": f"fuzznews_{suffix}"}, token)
    server.api("POST", f"/channels/{channel['id']}/posts", {"content": "first post", "message_type": "text"}, token)
    # A server administrator, so that the administrators' routes get past their 403.
    grant = subprocess.run([server.binary, "admin", "grant", "--username", f"fuzz_{suffix}"], env=server.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    if grant.returncode != 0:
        print(f"api-fuzz: (could not make the account an administrator: {grant.stdout.strip()[-300:]})")
    return phone


def write_config(path, phone):
    """schemathesis.toml: sign in as the first account, and again after a 401."""
    with open(path, "w") as file:
        file.write(
            "[auth]\n"
            "auto-signup = false\n\n"
            "[auth.dynamic.openapi.bearer]\n"
            'path = "/api/v1/auth/login"\n'
            f"payload = {{ phone = {json.dumps(phone)}, password = {json.dumps(PASSWORD)} }}\n"
            'extract_selector = "/token"\n'
            "retry_on = [401]\n"
            # The stateful phase does not sign in again after a 401: a scenario that signs the fuzzer's
            # own session out would leave every later step at 401. The other phases cover these two.
            '\n[[operations]]\ninclude-name = "POST /api/v1/auth/logout"\nphases.stateful.enabled = false\n'
            '\n[[operations]]\ninclude-name = "DELETE /api/v1/auth/sessions/{id}"\nphases.stateful.enabled = false\n'
        )


# ------------------------------------------------------------------------------------------------
# Reading schemathesis' event stream


def interactions(ndjson_path):
    """Every request schemathesis sent, as (request, response-or-None), from its NDJSON report."""
    if not os.path.exists(ndjson_path):
        return
    with open(ndjson_path) as file:
        for line in file:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            for interaction in (finished.get("recorder") or {}).get("interactions", {}).values():
                yield interaction.get("request") or {}, interaction.get("response")


def network_errors(ndjson_path):
    """Non-fatal errors schemathesis met (connection refused, timeouts, …), as short strings."""
    found = []
    if not os.path.exists(ndjson_path):
        return found
    with open(ndjson_path) as file:
        for line in file:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            error = event.get("NonFatalError")
            if error:
                value = error.get("value") or {}
                found.append(f"{error.get('label', '?')}: {value.get('title') or value.get('type') or ''} {value.get('message', '')}".strip())
    return found


def server_log_lines(path, request_id):
    """The server's log lines about one request (its id is the X-Request-Id header), except the access line."""
    if not request_id or not os.path.exists(path):
        return []
    with open(path, errors="replace") as file:
        return [line.strip() for line in file if request_id in line and '"message":"request"' not in line][:5]


def decode(value):
    """A body as the NDJSON report stores it (bytes as {"$base64": …}), as text."""
    if isinstance(value, dict) and "$base64" in value:
        return base64.b64decode(value["$base64"]).decode("utf-8", "replace")
    return "" if value is None else str(value)


def curl(request):
    headers = request.get("headers") or {}
    parts = ["curl", "-i", "-X", request.get("method", "GET")]
    for name, values in headers.items():
        for value in values if isinstance(values, list) else [values]:
            if name.lower() == "authorization":
                value = "Bearer $TOKEN"
            parts += ["-H", f"{name}: {value}"]
    if request.get("body") is not None:
        parts += ["--data-raw", decode(request["body"])]
    command = " ".join(shlex.quote(part) for part in parts)
    return f"{command} {shlex.quote(request.get('uri', ''))}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("COURIER_BINARY", ".build/debug/courier"), help="the courier binary")
    parser.add_argument("--output", default="test-output/api-fuzz", help="folder for the logs and reports")
    args = parser.parse_args()
    if not os.path.exists(args.server):
        sys.exit(f"api-fuzz: no server binary at {args.server}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    output = os.path.abspath(args.output)
    shutil.rmtree(output, ignore_errors=True)
    os.makedirs(output)

    seconds = env_int("COURIER_FUZZ_SECONDS", 75)
    examples = env_int("COURIER_FUZZ_EXAMPLES", 50)
    seed_value = env_int("COURIER_FUZZ_SEED", random.randint(0, 2**31 - 1))
    workers = env_int("COURIER_FUZZ_WORKERS", 1)
    random.seed(seed_value)

    started = time.time()
    telegram = FakeTelegram().start()
    server = CourierServer(os.path.abspath(args.server), output, telegram.url, name="courier-api-fuzz", extra_env={"COURIER_RATE_LIMITS": "off"})
    problems = []
    exit_status = None
    schemathesis_status = None
    ndjson = os.path.join(output, "events.ndjson")
    report_json = os.path.join(output, "report.json")
    try:
        server.start()
        phone = seed(server, f"{seed_value % 1000000:06d}")
        config = os.path.join(output, "schemathesis.toml")
        write_config(config, phone)
        command = [
            sys.executable, "-m", "schemathesis.cli", "--config-file", config,
            "run", server.base + "/api/v1/openapi.yaml",
            "--url", server.base,
            "--checks", "all",
            "--max-time", str(seconds),
            "--max-examples", str(examples),
            "--seed", str(seed_value),
            "--workers", str(workers),
            "--request-timeout", "10",
            "--continue-on-failure",
            "--suppress-health-check", "all",
            # The token always comes from the sign-in above, so negative cases reach the handlers with
            # broken bodies and parameters instead of stopping at 401 (the ignored_auth check still
            # sends requests without it).
            "--generation-with-security-parameters", "false",
            "--generation-database", "none",
            "--output-truncate", "false",
            "--no-color",
            "--report", "json,ndjson,junit",
            "--report-json-path", report_json,
            "--report-ndjson-path", ndjson,
            "--report-junit-path", os.path.join(output, "junit.xml"),
        ]
        print(f"api-fuzz: schemathesis against {server.base} for {seconds} s, {examples} examples per operation, seed {seed_value}")
        with open(os.path.join(output, "schemathesis.log"), "w") as log:
            # Its own folder as the working directory: nothing it writes lands in the repository.
            process = subprocess.Popen(command, cwd=output, stdout=log, stderr=subprocess.STDOUT)
            try:
                schemathesis_status = process.wait(timeout=seconds + 120)
            except subprocess.TimeoutExpired:
                problems.append(f"schemathesis did not finish within {seconds + 120} s")
            finally:  # also when this script is interrupted
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if not server.alive():
            problems.append(f"the server died during the run (exit status {server.process.returncode}); see server.log")
        elif not server.healthy():
            problems.append("the server no longer answers /health after the run")
    except Exception as error:  # noqa: BLE001 - report it as the failure it is
        problems.append(f"{type(error).__name__}: {error}")
    finally:
        exit_status = server.stop()
        server.cleanup()
        telegram.stop()
    if exit_status not in (0, None) and not any("died" in p for p in problems):
        problems.append(f"the server exited with status {exit_status} on SIGTERM")
    elif exit_status is None and server.process is not None:
        problems.append("the server did not stop within 15 s of SIGTERM")

    # What happened, from schemathesis' own reports.
    requests = 0
    server_errors = []
    statuses = {}
    for request, response in interactions(ndjson):
        requests += 1
        status = response.get("status_code", 0) if response else "no answer"
        statuses[status] = statuses.get(status, 0) + 1
        if response and status >= 500:
            server_errors.append((request, response))
    report = {}
    if os.path.exists(report_json):
        with open(report_json) as file:
            report = json.load(file)
    elif schemathesis_status is not None:
        problems.append(f"schemathesis wrote no report (exit status {schemathesis_status}); see schemathesis.log")
    cases = (report.get("test_cases") or {}).get("generated", 0)
    failures = report.get("failures") or []
    errors = report.get("errors") or []
    network = [e for e in network_errors(ndjson) if any(w in e.lower() for w in ("connection", "timeout", "timed out", "network"))]
    if network:
        problems.append(f"{len(network)} requests did not get an answer (crash or hang?), e.g. {network[0].splitlines()[0][:300]}")
    if report and requests == 0:
        problems.append("schemathesis sent no requests")

    if server_errors:
        by_route = {}
        for request, response in server_errors:
            key = (request.get("method"), request.get("uri", "").split("?")[0].replace(server.base, ""))
            by_route.setdefault(key, []).append((request, response))
        with open(os.path.join(output, "server-errors.txt"), "w") as file:
            for (method, path), hits in sorted(by_route.items()):
                request, response = hits[0]
                body = decode(response.get("content"))
                request_id = (response.get("headers") or {}).get("x-request-id", [""])[0]
                lines = [f"{method} {path}: {len(hits)}× status {response.get('status_code')}",
                         f"  response: {body[:300]}", f"  request:  {curl(request)}"]
                lines += [f"  log:      {line[:400]}" for line in server_log_lines(server.log_path, request_id)]
                print("\n".join(lines))
                file.write("\n".join(lines) + "\n")
        problems.append(f"{len(server_errors)} responses with status >= 500 on {len(by_route)} routes (server-errors.txt)")

    for group in failures:
        marker = "FAIL" if group.get("type") == "ServerError" else "note"
        print(f"{marker} {group.get('title')} ({group.get('type')}, {group.get('count')}×): {', '.join(group.get('operations') or [])}")
    for error in errors:
        print(f"note schemathesis error: {error.get('title')} ({error.get('count')}×)")
    if any(group.get("type") == "ServerError" for group in failures) and not server_errors:
        problems.append("schemathesis reports server errors (see schemathesis.log)")
    for problem in problems:
        print(f"FAIL {problem}")

    print("statuses: " + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items(), key=lambda item: str(item[0]))))
    others = sum(group.get("count", 0) for group in failures if group.get("type") != "ServerError")
    reauth = (report.get("auth") or {}).get("reauth_count", 0)
    print(f"logs and reports in {output}; {time.time() - started:.1f} s in all")
    print(
        f"api-fuzz: {requests} requests, {cases} cases, {len(server_errors)} server errors, "
        f"{others} other check failures (not failing), {reauth} re-logins, seed {seed_value}: "
        + ("FAILED" if problems else "passed")
    )
    return not problems


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
