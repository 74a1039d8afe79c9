"""LL150 response-not-closed."""

from __future__ import annotations

from leaklint.rules.base import PathRule

RULE = PathRule(
    code="LL150",
    name="response-not-closed",
    summary="A streaming HTTP response is not closed on every path.",
    leak_kinds=(),
    bad_example='''\
import requests


def first_line(url):
    r = requests.get(url, stream=True)
    return next(r.iter_lines())  # the connection is never given back
''',
    good_example='''\
import requests


def first_line(url):
    with requests.get(url, stream=True) as r:
        return next(r.iter_lines())
''',
    docs='''\
## What it does
Reports an HTTP response that holds its connection until it is closed and is not closed on
every path:

| library | call | when |
|---|---|---|
| `requests` | `get`/`post`/`request`, `Session.get`/`post`/`request` | only with `stream=True` (otherwise the body is read and the connection returned at once) |
| `httpx` | `httpx.stream(...)`, `Client.stream(...)` | outside `with` |
| `urllib.request` | `urlopen(...)` | always |
| `http.client` | `HTTPConnection.getresponse()` | always; closing the connection closes it too |

A generator that yields from a response is reported too when the response is not closed
in a `finally` (a consumer that stops early leaves it open).

## Why is this bad?
A streaming response keeps its connection out of the pool (and a socket open) until it is
closed; under load the pool runs dry and requests hang.

{examples}
## Fix safety
A fix closes the response at the end of the block that opens it (`with`, or `try/finally`
with `close()`). Safe when nothing outside the block uses it; otherwise unsafe, with the
reason in `--show-fixes`.
''',
)
