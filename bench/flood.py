#!/usr/bin/env python3
"""The flood of wrong app passwords, measured from outside the release server.

64 connections of wrong app-specific passwords for one account (wrk, SECS seconds, default 30) while another
account's mail client signs in with its already-verified app password every 50 ms. Prints the server's
resident memory every 2 s, wrk's totals, and the other account's answers and latency.

Needs: `cargo build --release -p keyturn-server`, wrk (Debian package) and argon2-cffi (PyPI), to build the
other account's verifier as the app would. Traffic goes to 127.0.0.1 only.

    SECS=30 python3 bench/flood.py
"""
import base64, hashlib, json, os, secrets, string, subprocess, tempfile, threading, time, urllib.request
from pathlib import Path

from argon2 import PasswordHasher

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/keyturn-server"
PASSWORD = "plum kettle orbit gravel nine"
WRONG = """
counter = 0
request = function()
  counter = counter + 1
  local n, pw = counter, "wrong"
  for i = 1, 11 do pw = pw .. string.char(97 + n % 26); n = math.floor(n / 26) end
  return wrk.format("GET", "/v1/app-auth/whoami", {["Authorization"] = "Basic " .. b64("ann@example.com:" .. pw)})
end
local chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
function b64(data)
  return ((data:gsub('.', function(x)
    local r, b = '', x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2^i - b % 2^(i-1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2^(6-i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({'', '==', '='})[#data % 3 + 1])
end
done = function(summary) io.write(string.format("wrk: %d answers, %d not 2xx\\n", summary.requests, summary.errors.status)) end
"""


def main():
    work = Path(tempfile.mkdtemp())
    db = work / "keyturn.db"
    for who in ("ann", "bob"):
        subprocess.run([BIN, "accounts", "add", f"{who}@example.com", "--db", db], input=PASSWORD.encode(),
                       check=True, capture_output=True)
    server = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--db", db],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    url = server.stdout.readline().decode().strip().removeprefix("listening on ")

    def call(method, path, body=None, headers={}):
        request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body else None,
                                         headers={"content-type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, None

    _, session = call("POST", "/v1/sessions", {"email": "bob@example.com", "password": PASSWORD})
    password = "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))
    verifier = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16).hash(password)
    tag = hashlib.sha256(b"keyturn-lookup-v1:" + password.encode()).digest()[:4].hex()
    status, _ = call("POST", "/v1/app-passwords", {"label": "Mail", "verifier": verifier, "lookup_tag": tag},
                     {"authorization": "Bearer " + session["token"], "idempotency-key": "flood"})
    assert status == 201, status
    bob = {"authorization": "Basic " + base64.b64encode(f"bob@example.com:{password}".encode()).decode()}
    assert call("GET", "/v1/app-auth/whoami", headers=bob)[0] == 200  # verified once: cached from now on

    def resident_mb():
        for line in open(f"/proc/{server.pid}/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024

    stop, samples = False, []

    def mail_client():
        while not stop:
            start = time.perf_counter()
            status = call("GET", "/v1/app-auth/whoami", headers=bob)[0]
            samples.append((status, (time.perf_counter() - start) * 1000))
            time.sleep(0.05)

    print(f"resident before: {resident_mb()} MB")
    (work / "wrong.lua").write_text(WRONG)
    client = threading.Thread(target=mail_client)
    client.start()
    wrk = subprocess.Popen(["wrk", "-t2", "-c64", f"-d{os.environ.get('SECS', '30')}s", "-s", work / "wrong.lua", url],
                           stdout=subprocess.PIPE, text=True)
    trace = []
    while wrk.poll() is None:
        time.sleep(2)
        trace.append(resident_mb())
    stop = True
    client.join()
    out = wrk.stdout.read()
    print("resident every 2 s (MB):", trace)
    print(out.strip().splitlines()[-1], "|", next(l.strip() for l in out.splitlines() if "Requests/sec" in l))
    ok = sorted(ms for status, ms in samples if status == 200)
    print(f"bob's cached sign-ins: {len(ok)} of {len(samples)} answered 200, median {ok[len(ok) // 2]:.1f} ms, "
          f"max {ok[-1]:.1f} ms")
    server.terminate()
    server.wait()


if __name__ == "__main__":
    main()
