#!/usr/bin/env python3
"""The operator's commands end to end, with the built binary, as an owner would run them.

For SQLite (and PostgreSQL with --database-url-base): a server takes messages from a writer while
`courier backup` runs; `courier backup verify` checks the archive, a wrong passphrase is refused,
`courier restore` puts it into a new data folder (and a new database), a second server starts on the
copy and serves exactly the messages the backup counted, gap-free, with the same content, and a
second restore into the now full target is refused. The metrics listener answers without a token,
the main port only with it. Logs go to --output.
"""
import argparse, json, os, random, string, subprocess, sys, threading, time, urllib.error, urllib.request, socket

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def call(base, method, path, body=None, token=None, expect=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None: request.add_header("content-type", "application/json")
    if token: request.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    if expect is not None and status != expect:
        raise SystemExit(f"{method} {path}: {status} (expected {expect}): {text[:300]}")
    return status, (json.loads(text) if text.startswith("{") else text)

class Server:
    def __init__(self, binary, data, env, output, name):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(output, name + ".log"), "w")
        environment = dict(os.environ, COURIER_DATA_DIR=data, COURIER_PORT=str(self.port), COURIER_BCRYPT_COST="4",
                           COURIER_RATE_LIMITS="off", LOG_LEVEL="warning", **env)
        self.process = subprocess.Popen([binary, "serve"], env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if call(self.base, "GET", "/health")[0] == 200: return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{name} did not start; see {self.log.name}")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()

def run(binary, *arguments, env=None, check=True):
    result = subprocess.run([binary, *arguments], env=dict(os.environ, **(env or {})), capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise SystemExit(f"courier {' '.join(arguments)} failed ({result.returncode}): {result.stdout}{result.stderr}")
    return result

def history(base, token, chat):
    messages, before = [], None
    while True:
        query = f"/api/v1/chats/{chat}/messages?limit=100" + (f"&before_seq={before}" if before else "")
        page = call(base, "GET", query, token=token, expect=200)[1]
        messages += page["messages"]
        if not page.get("has_more") or not page["messages"]: return messages
        before = min(m["seq"] for m in page["messages"])

def round_trip(args, engine, work, env_source, env_target):
    print(f"operations: backup and restore on {engine}")
    data, restored = os.path.join(work, engine + "-data"), os.path.join(work, engine + "-restored")
    metrics_port = free_port()
    token_value = "".join(random.choice(string.ascii_lowercase) for _ in range(32))
    server = Server(args.server, data, dict(env_source, COURIER_METRICS_ADDRESS=f"127.0.0.1:{metrics_port}", COURIER_METRICS_TOKEN=token_value),
                    args.output, engine + "-original")
    try:
        base = server.base
        alice = call(base, "POST", "/api/v1/auth/register", {"username": "alice_1", "phone": "+15550000001", "password": "correct horse battery"}, expect=201)[1]
        token = alice["token"]
        chat = call(base, "POST", "/api/v1/chats", {"type": "group", "name": "Backup", "member_ids": []}, token=token, expect=201)[1]["id"]
        stop, sent = threading.Event(), []
        def writer():
            index = 0
            while not stop.is_set():
                index += 1
                status, body = call(base, "POST", "/api/v1/messages", {"chat_id": chat, "content": f"message {index}"}, token=token)
                if status == 201:
                    sent.append((body["id"], time.time()))
                    if index % 5 == 0:
                        call(base, "PATCH", f"/api/v1/messages/{body['id']}", {"content": f"message {index}, edited"}, token=token)
        thread = threading.Thread(target=writer)
        thread.start()
        while len(sent) < 50: time.sleep(0.02)
        passphrase = os.path.join(work, "passphrase")
        with open(passphrase, "w") as f: f.write("a passphrase for the operations test\n")
        archive = os.path.join(work, engine + ".courier")
        started = time.time()
        backup = run(args.server, "backup", "--out", archive, "--passphrase-file", passphrase, env=dict(env_source, COURIER_DATA_DIR=data))
        while len(sent) < len([s for s in sent if s[1] < started]) + 30: time.sleep(0.02)
        stop.set()
        thread.join()
        counted = int(next(line.split(":")[1] for line in backup.stdout.splitlines() if line.strip().startswith("messages:")))
        before_backup = {id for id, at in sent if at < started}

        # Metrics: the listener without a token, the main port only with it.
        assert "courier_messages_stored_total" in call(f"http://127.0.0.1:{metrics_port}", "GET", "/metrics", expect=200)[1]
        call(base, "GET", "/metrics", expect=401)
        call(base, "GET", "/metrics", token=token_value, expect=200)

        verify = run(args.server, "backup", "verify", archive, "--passphrase-file", passphrase)
        assert f"messages: {counted}" in verify.stdout, verify.stdout
        wrong = os.path.join(work, "wrong")
        with open(wrong, "w") as f: f.write("not the passphrase that was used\n")
        refused = run(args.server, "backup", "verify", archive, "--passphrase-file", wrong, check=False)
        assert refused.returncode != 0 and "does not open" in refused.stderr, refused.stderr

        run(args.server, "restore", "--in", archive, "--passphrase-file", passphrase, env=dict(env_target, COURIER_DATA_DIR=restored))
        again = run(args.server, "restore", "--in", archive, "--passphrase-file", passphrase, env=dict(env_target, COURIER_DATA_DIR=restored), check=False)
        assert again.returncode != 0 and "not empty" in again.stderr, again.stderr
        original = {m["id"]: m for m in history(base, token, chat)}
    finally:
        server.stop()
    copy = Server(args.server, restored, env_target, args.output, engine + "-restored")
    try:
        messages = history(copy.base, token, chat)
    finally:
        copy.stop()
    seqs = sorted(m["seq"] for m in messages)
    assert len(messages) == counted, f"the copy serves {len(messages)} messages, the backup counted {counted}"
    assert seqs == list(range(1, counted + 1)), "the copy's messages have a gap"
    missing = before_backup - {m["id"] for m in messages}
    assert not missing, f"{len(missing)} messages acknowledged before the backup began are missing"
    for m in messages:
        o = original[m["id"]]
        assert m["seq"] == o["seq"] and (m["content"] == o["content"] or m["updated_at"] < o["updated_at"]), f"{m} differs from {o}"
    print(f"operations: {engine}: {counted} messages restored whole ({len(before_backup)} acknowledged before the backup began), served by a server on the copy")

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--database-url-base", help="postgres://user@host:port (databases 'source' and 'target' are made there)")
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    round_trip(args, "sqlite", args.work, {}, {})
    if args.database_url_base:
        round_trip(args, "postgres", args.work, {"DATABASE_URL": args.database_url_base + "/courier_ops_source"},
                   {"DATABASE_URL": args.database_url_base + "/courier_ops_target"})
    print("operations: all checks passed")

if __name__ == "__main__":
    main()
