"""What the client checks of this folder share: one printed line, exit codes 0 (as expected), 1 (not as
expected) and 2 (connection or usage error), and the password taken from the environment variable
KEYTURN_TEST_PASSWORD, never the command line, and kept out of every printed line."""
import argparse
import os
import sys

ENV = "KEYTURN_TEST_PASSWORD"
_password = None


def say(line, code):
    """Prints `line` on one line, without the password, and exits with `code`."""
    if _password and len(_password) >= 4:  # (a shorter one would blot out ordinary words)
        line = line.replace(_password, "***")
    print(" ".join(line.split()))
    sys.exit(code)


class Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2."""

    def error(self, message):
        say("error: usage: %s (%s)" % (self.format_usage().strip()[len("usage: "):], message), 2)


def password():
    """The password from the environment; exit code 2 without one."""
    global _password
    _password = os.environ.get(ENV)
    if not _password:
        say("error: the environment variable %s is not set" % ENV, 2)
    return _password
