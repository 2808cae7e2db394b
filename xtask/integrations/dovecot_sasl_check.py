#!/usr/bin/env python3
"""Check a password through Dovecot SASL, the way Postfix does for SMTP AUTH.

Usage:
    KEYTURN_TEST_PASSWORD=... python3 dovecot_sasl_check.py SOCKET USER [--expect ok|refused|unavailable]
                                                            [--service smtp] [--timeout SECS]

The password comes from the environment variable KEYTURN_TEST_PASSWORD, never the command line.

SOCKET is Dovecot's auth-client unix socket (a `service auth { unix_listener ... }`, e.g. Postfix's
private/auth). The script speaks Dovecot's auth protocol 1.x like Postfix's smtpd: it sends
VERSION 1 2 and CPID, reads the server handshake up to DONE (the server must offer PLAIN), then sends
AUTH 1 PLAIN service=SERVICE resp=base64("\\0" USER "\\0" password). Standard library only.

--expect ok (default)   the server answers OK.
--expect refused        the server answers FAIL (not a temporary failure).
--expect unavailable    the server answers FAIL with code=temp_fail (Dovecot 2.3) or "temp" (older versions): a
                        temporary failure, the password could not be checked (e.g. keyturn-server's
                        LDAP listener is down).
--service NAME          the service= sent (default smtp).
--timeout SECS          for connecting and for the whole exchange (default 10).

Prints exactly one line (what happened, then "; expected ..." when that is not what was expected) and
exits 0 if the expectation holds, 1 if not, 2 on a connection error or timeout (and on a usage error).
"""
import base64
import os
import socket
import time

from checks import Parser, password, say

PASSWORD = None  # set in main, from the environment


class Closed(Exception):
    pass


def unescape(value):
    """Dovecot's tab escaping: \\001 followed by 1, t, r, n or 0."""
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\x01" and i + 1 < len(value):
            out.append({"1": "\x01", "t": "\t", "r": "\r", "n": "\n", "0": "\0"}.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class Conn:
    def __init__(self, path, deadline):
        self.deadline = deadline
        self.buf = b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.left())
        self.sock.connect(path)

    def left(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        return left

    def send(self, line):
        self.sock.settimeout(self.left())
        self.sock.sendall(line.encode("utf-8") + b"\n")

    def line(self):
        while b"\n" not in self.buf:
            self.sock.settimeout(self.left())
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Closed("the server closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("utf-8", "replace")


def main():
    global PASSWORD
    p = Parser(prog="dovecot_sasl_check.py", description="Dovecot SASL (auth-client protocol) PLAIN check.")
    p.add_argument("socket")
    p.add_argument("user")
    p.add_argument("--expect", choices=("ok", "refused", "unavailable"), default="ok")
    p.add_argument("--service", default="smtp")
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()
    PASSWORD = password()
    for name, value in (("USER", a.user), ("--service", a.service)):
        if any(c in value for c in "\t\n\r\0"):
            say("error: usage: %s must not hold a tab, line break or NUL" % name, 2)
    if "\0" in PASSWORD:
        say("error: the password must not hold a NUL", 2)

    def done(outcome, detail):
        line = "%s: %s (%.2f s)" % (outcome, detail, time.monotonic() - t0)
        if outcome != a.expect:
            line += "; expected %s" % a.expect
        say(line, 0 if outcome == a.expect else 1)

    t0 = time.monotonic()
    try:
        conn = Conn(a.socket, t0 + a.timeout)
    except OSError as e:
        say("error: cannot connect to %s: %s" % (a.socket, e), 2)
    try:
        conn.send("VERSION\t1\t2")
        conn.send("CPID\t%d" % os.getpid())
        mechs, version = set(), None
        while True:
            fields = conn.line().split("\t")
            if fields[0] == "DONE":
                break
            if fields[0] == "VERSION" and len(fields) >= 2:
                version = fields[1:3]
            elif fields[0] == "MECH" and len(fields) >= 2:
                mechs.add(fields[1].upper())
        if not version or version[0] != "1":
            done("failed", "the server speaks auth protocol version %s, not 1.x" % ".".join(version or ["?"]))
        if "PLAIN" not in mechs:
            done("failed", "the server offers no PLAIN mechanism (only %s)" % (" ".join(sorted(mechs)) or "none"))
        resp = base64.b64encode(b"\0" + a.user.encode("utf-8") + b"\0" + PASSWORD.encode("utf-8")).decode("ascii")
        conn.send("AUTH\t1\tPLAIN\tservice=%s\tresp=%s" % (a.service, resp))
        while True:
            fields = conn.line().split("\t")
            if len(fields) >= 2 and fields[1] == "1" and fields[0] in ("OK", "FAIL", "CONT"):
                break  # anything else (another id, a line this client does not know) is skipped
        kind, params = fields[0], [unescape(f) for f in fields[2:]]
        flags = {f for f in params if "=" not in f}
        about = "AUTH PLAIN %s (service=%s)" % (a.user, a.service)
        shown = " ".join(f for f in params if not f.startswith("resp="))
        if kind == "OK":
            done("ok", "%s answered OK %s" % (about, shown))
        # A temporary failure (internal_failure): Dovecot 2.3 says code=temp_fail, older versions the flag "temp".
        if kind == "FAIL" and ("temp" in flags or "code=temp_fail" in params):
            done("unavailable", "%s answered FAIL %s" % (about, shown))
        if kind == "FAIL":
            done("refused", "%s answered FAIL %s" % (about, shown))
        done("failed", "%s answered %s (the server asks for more)" % (about, kind))
    except (OSError, Closed) as e:
        kind = "timed out" if isinstance(e, socket.timeout) else str(e)
        say("error: %s: %s" % (a.socket, kind), 2)
    finally:
        try:
            conn.sock.close()
        except Exception:
            pass


if __name__ == "__main__":
    main()
