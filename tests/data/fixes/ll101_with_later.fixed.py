"""A file a later `with` releases, left open when a statement before the `with` fails:
released in an `except` that re-raises."""


def archive(path, names):
    out = open(path, "wb")
    try:
        out.write(header(names))
    except BaseException:
        out.close()
        raise
    with out:
        for name in names:
            out.write(name)
