#!/usr/bin/env python3
"""Check a CalDAV server (nginx + keyturn-server auth_request + Radicale) with the `caldav` package.

Usage:
    KEYTURN_TEST_PASSWORD=... python3 caldav_check.py URL USER [--expect ok|401|403] [--keep]
                                                      [--timeout SECS]

The password comes from the environment variable KEYTURN_TEST_PASSWORD, never the command line.

Needs the `caldav` package (tested with caldav 3.6); everything else is the standard library.

--expect ok (default)  With caldav.DAVClient(url=URL, username=USER, password=..., timeout=...,
                       require_tls=False, enable_rfc6764=False): the principal's URL path is the user's own
                       home /USER/; a new calendar (unique id) is made and an event (unique UID, SUMMARY
                       "Keyturn check <uid>") saved in it; a fresh client then finds the calendar among the
                       principal's calendars and the event by its UID with that summary. Then the calendar is
                       deleted, unless --keep is given.
--expect 401           A raw PROPFIND of URL (Depth: 0, Basic auth) is answered 401 with a WWW-Authenticate
                       header starting "Basic", and caldav's principal() raises AuthorizationError.
--expect 403           The raw PROPFIND is answered 403, and caldav's principal() raises AuthorizationError.
--keep                 (ok only) leave the test calendar in place.
--timeout SECS         per HTTP request (default 10).

Prints exactly one line (what happened, then "; expected ..." when that is not what was expected) and
exits 0 if the expectation holds, 1 if not, 2 on a connection error or timeout (and on a usage error).
"""
import base64
import inspect
import logging
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import warnings

from checks import Parser, password, say

PASSWORD = None  # set in main, from the environment

PROPFIND_BODY = (b'<?xml version="1.0" encoding="utf-8"?>\n'
                 b'<propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>\n')


class Outcome(Exception):
    """What happened, when it ends the check early: Outcome("failed", "why")."""


def path_of(url):
    return urllib.parse.unquote(urllib.parse.urlsplit(str(url)).path)


def call(obj, new, old, *args):
    """caldav 3.x renamed some methods (old names kept as deprecated aliases): use whichever exists."""
    return getattr(obj, new if hasattr(obj, new) else old)(*args)


def make_client(caldav, a):
    wanted = dict(url=a.url, username=a.user, password=PASSWORD, timeout=a.timeout,
                  require_tls=False, enable_rfc6764=False)
    accepted = inspect.signature(caldav.DAVClient.__init__).parameters
    return caldav.DAVClient(**{k: v for k, v in wanted.items() if k in accepted})


def raw_propfind(a):
    """(status, [WWW-Authenticate values]) of a plain PROPFIND with Basic auth, by urllib."""
    basic = base64.b64encode(("%s:%s" % (a.user, PASSWORD)).encode("utf-8")).decode("ascii")
    req = urllib.request.Request(a.url, data=PROPFIND_BODY, method="PROPFIND", headers={
        "Depth": "0", "Authorization": "Basic " + basic, "Content-Type": "application/xml; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=a.timeout) as r:
            r.read()
            return r.status, r.headers.get_all("WWW-Authenticate") or []
    except urllib.error.HTTPError as e:
        try:
            e.read()
        except Exception:
            pass
        return e.code, e.headers.get_all("WWW-Authenticate") or []


def check_refusal(caldav, a):
    status, challenges = raw_propfind(a)
    if str(status) != a.expect:
        raise Outcome(str(status), "PROPFIND %s as %s answered %d" % (a.url, a.user, status))
    detail = "PROPFIND %s as %s answered %d" % (a.url, a.user, status)
    if a.expect == "401":
        basic = [c for c in challenges if c.split(" ", 1)[0].lower() == "basic"]
        if not basic:
            raise Outcome("failed", "%s without a Basic WWW-Authenticate (got %s)"
                          % (detail, "; ".join(challenges) or "none"))
        detail += " (WWW-Authenticate: %s)" % basic[0]
    with make_client(caldav, a) as client:
        try:
            principal = client.principal()
        except caldav.lib.error.AuthorizationError as e:
            got = getattr(e, "status", None)
            if got is not None and str(got) != a.expect:
                raise Outcome("failed", "%s, but caldav's principal() raised AuthorizationError with status %s"
                              % (detail, got))
            return "%s, and caldav's principal() raised AuthorizationError (%s)" % (detail, e.reason)
    raise Outcome("failed", "%s, but caldav's principal() succeeded (%s)" % (detail, principal.url))


def check_ok(caldav, a):
    home = "/%s/" % a.user
    token = uuid.uuid4().hex
    cal_id = "keyturn-check-%s" % token
    uid = "keyturn-check-%s@keyturn.test" % token
    summary = "Keyturn check %s" % uid
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    ical = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Keyturn//integration check//EN",
        "BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:" + stamp,
        "DTSTART:20300101T100000Z", "DTEND:20300101T110000Z", "SUMMARY:" + summary,
        "END:VEVENT", "END:VCALENDAR", ""])
    calendar = None
    with make_client(caldav, a) as client:
        try:
            principal = client.principal()
            if path_of(principal.url) != home:
                raise Outcome("failed", "the principal of %s is %s, not the user's home %s"
                              % (a.user, path_of(principal.url), home))
            calendar = principal.make_calendar(name="Keyturn check %s" % cal_id, cal_id=cal_id)
            call(calendar, "add_event", "save_event", ical)
            cal_path = path_of(calendar.url).rstrip("/") + "/"

            with make_client(caldav, a) as fresh:
                found = [c for c in call(fresh.principal(), "get_calendars", "calendars")
                         if path_of(c.url).rstrip("/") + "/" == cal_path]
                if not found:
                    raise Outcome("failed", "a fresh client does not find the new calendar %s among %s's calendars"
                                  % (cal_path, a.user))
                try:
                    event = call(found[0], "get_event_by_uid", "event_by_uid", uid)
                except caldav.lib.error.NotFoundError:
                    raise Outcome("failed", "a fresh client does not find the event %s in %s" % (uid, cal_path))
                got = str(event.icalendar_component.get("SUMMARY", ""))
                if got != summary:
                    raise Outcome("failed", "the event %s read back has SUMMARY %r, not %r" % (uid, got, summary))

            detail = "%s (home %s) made calendar %s, saved event %s and read both back with a fresh client" % (
                a.user, home, cal_path, uid)
            if a.keep:
                detail += "; calendar kept"
            else:
                to_delete, calendar = calendar, None
                to_delete.delete()
                detail += "; calendar deleted"
            return detail
        finally:
            if calendar is not None and not a.keep:
                try:
                    calendar.delete()  # tidy up after a failure; its own error is not the news
                except Exception:
                    pass


def main():
    global PASSWORD
    p = Parser(prog="caldav_check.py", description="CalDAV check with the caldav package.")
    p.add_argument("url")
    p.add_argument("user")
    p.add_argument("--expect", choices=("ok", "401", "403"), default="ok")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()
    PASSWORD = password()

    # One line of output: no library warnings or log records on the way.
    warnings.simplefilter("ignore")
    logging.getLogger("caldav").setLevel(logging.CRITICAL + 1)
    logging.getLogger().addHandler(logging.NullHandler())
    try:
        import caldav
        import caldav.lib.error
    except ImportError as e:
        say("error: cannot import the caldav package (%s) in %s" % (e, sys.executable), 2)

    t0 = time.monotonic()
    try:
        try:
            detail = check_ok(caldav, a) if a.expect == "ok" else check_refusal(caldav, a)
            outcome = a.expect
        except Outcome as o:
            outcome, detail = o.args
        except caldav.lib.error.AuthorizationError as e:
            status = getattr(e, "status", None)
            outcome, detail = str(status or "failed"), "AuthorizationError from the server: %s" % e
        except caldav.lib.error.DAVError as e:
            outcome, detail = "failed", "%s: %s" % (type(e).__name__, e)
        except OSError:
            raise
        except Exception as e:  # anything else the library raises: still one line
            outcome, detail = "failed", "%s: %s" % (type(e).__name__, e)
    except (urllib.error.URLError, OSError) as e:  # niquests' ConnectionError and Timeout are OSErrors
        reason = str(getattr(e, "reason", None) or e)
        if isinstance(getattr(e, "reason", e), socket.timeout) or "timed out" in reason.lower():
            reason = "timed out after %g s" % a.timeout
        else:  # niquests nests the cause in a long message: keep its "[Errno N] ..." part
            m = re.search(r"\[Errno -?\d+\][^'\")]*", reason)
            reason = m.group(0).strip() if m else reason
        say("error: %s: %s" % (a.url, reason), 2)
    line = "%s: %s (%.2f s)" % (outcome, detail, time.monotonic() - t0)
    if outcome != a.expect:
        line += "; expected %s" % a.expect
    say(line, 0 if outcome == a.expect else 1)


if __name__ == "__main__":
    main()
