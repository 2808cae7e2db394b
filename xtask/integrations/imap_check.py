#!/usr/bin/env python3
"""Sign in to an IMAP server (Dovecot in front of keyturn-server) and check the answer.

Usage:
    KEYTURN_TEST_PASSWORD=... python3 imap_check.py HOST PORT USER [--expect ok|refused|unavailable]
                                                    [--timeout SECS]

The password comes from the environment variable KEYTURN_TEST_PASSWORD, never the command line.

Plain IMAP (no TLS), standard library only (imaplib).

--expect ok (default)   LOGIN and then SELECT INBOX both succeed.
--expect refused        LOGIN is answered NO with the response code [AUTHENTICATIONFAILED].
--expect unavailable    LOGIN is answered NO with the response code [UNAVAILABLE] (the password could
                        not be checked, e.g. keyturn-server's LDAP listener is down).
--timeout SECS          for connecting and for each answer (default 10).

Prints exactly one line (what happened, then "; expected ..." when that is not what was expected) and
exits 0 if the expectation holds, 1 if not, 2 on a connection error or timeout (and on a usage error).
"""
import imaplib
import re
import time

from checks import Parser, password, say

PASSWORD = None  # set in main, from the environment


def text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def main():
    global PASSWORD
    p = Parser(prog="imap_check.py", description="IMAP LOGIN/SELECT check.")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("user")
    p.add_argument("--expect", choices=("ok", "refused", "unavailable"), default="ok")
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()
    PASSWORD = password()

    def done(outcome, detail):
        line = "%s: %s (%.2f s)" % (outcome, detail, time.monotonic() - t0)
        if outcome != a.expect:
            line += "; expected %s" % a.expect
        say(line, 0 if outcome == a.expect else 1)

    t0 = time.monotonic()
    try:
        conn = imaplib.IMAP4(a.host, a.port, timeout=a.timeout)
    except (OSError, imaplib.IMAP4.error) as e:
        say("error: no IMAP greeting from %s:%d (connect or greeting failed): %s" % (a.host, a.port, e), 2)
    try:
        try:
            conn.login(a.user, PASSWORD)
        except imaplib.IMAP4.abort as e:  # the connection dropped (a subclass of IMAP4.error)
            conn = None
            say("error: connection lost during LOGIN: %s" % e, 2)
        except imaplib.IMAP4.error as e:
            answer = text(e.args[0] if e.args else e)
            m = re.match(r"\s*\[([A-Za-z0-9-]+)", answer)
            code = m.group(1).upper() if m else None
            if code == "AUTHENTICATIONFAILED":
                done("refused", "LOGIN %s answered NO %s" % (a.user, answer))
            if code == "UNAVAILABLE":
                done("unavailable", "LOGIN %s answered NO %s" % (a.user, answer))
            done("failed", "LOGIN %s answered %s" % (a.user, answer))
        typ, data = conn.select("INBOX")
        if typ != "OK":
            done("failed", "%s signed in, but SELECT INBOX answered %s %s"
                 % (a.user, typ, text(data[-1] if data else "")))
        done("ok", "%s signed in and selected INBOX" % a.user)
    except (OSError, imaplib.IMAP4.abort) as e:
        conn = None  # no LOGOUT on a dead or silent connection: that would wait for the timeout again
        say("error: connection to %s:%d failed: %s" % (a.host, a.port, e), 2)
    except imaplib.IMAP4.error as e:
        done("failed", "unexpected IMAP answer: %s" % text(e))
    finally:
        if conn is not None:
            try:
                conn.logout()
            except Exception:
                pass


if __name__ == "__main__":
    main()
