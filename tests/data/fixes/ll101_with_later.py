"""A file a later `with` releases, left open when a statement before the `with` fails:
released in an `except` that re-raises."""


def archive(path, names):
    out = open(path, "wb")
    out.write(header(names))
    with out:
        for name in names:
            out.write(name)
