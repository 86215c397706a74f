import sys, time, json, threading, urllib.request, statistics
base = sys.argv[1]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token: req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r: return json.loads(r.read() or b"{}")
import random
name = "u%d" % random.randint(10**5, 10**6)
a = call("POST", "/api/v1/auth/register", {"username": name, "phone": "+1415%07d" % random.randint(0, 10**7 - 1), "password": "correct horse battery"})
tok = a["token"]
chat = call("POST", "/api/v1/chats", {"type": "group", "name": "g", "member_ids": []}, tok)["id"]
def timed(n):
    out = []
    for i in range(n):
        t = time.perf_counter(); call("POST", "/api/v1/messages", {"chat_id": chat, "content": "m%d" % i}, tok); out.append((time.perf_counter() - t) * 1000)
    return out
quiet = timed(100)
stop = False
def logins():
    while not stop:
        try: call("POST", "/api/v1/auth/login", {"username": name, "password": "correct horse battery"})
        except Exception as e: pass
ts = [threading.Thread(target=logins) for _ in range(4)]
[t.start() for t in ts]; time.sleep(1)
busy = timed(100)
stop = True; [t.join() for t in ts]
q = lambda xs, p: sorted(xs)[int(len(xs) * p) - 1]
print("send ms quiet p50 %.1f p95 %.1f max %.1f | during 4 sign-ins at a time: p50 %.1f p95 %.1f max %.1f" % (statistics.median(quiet), q(quiet, .95), max(quiet), statistics.median(busy), q(busy, .95), max(busy)))
