"""Opened on one branch only and used after it, never released (a `with` cannot express
that scope): what the branch opens gets a fresh name, `None` until then, and is released
in a `finally` around the rest of the function when it was opened. The caller's own file
object, taken on the other path, is never closed."""


def parse(readable, parser):
    opened = None
    if not hasattr(readable, "read"):
        readable = opened = open(readable, "rb")
    try:
        chunk = readable.read(1024)
        while chunk:
            parser.feed(chunk)
            chunk = readable.read(1024)
        return parser.close()
    finally:
        if opened is not None:
            opened.close()


def parse_named(readable, parser):
    # something read from it is stored on the parser: left as it is
    if not hasattr(readable, "read"):
        readable = open(readable, "rb")
    parser.name = getattr(readable, "name", "<file>")
    parser.feed(readable.read())
    return parser.close()
