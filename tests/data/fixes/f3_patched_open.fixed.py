from unittest import mock

# Issue 24's F3: `with open(p) as fobj` binds open(p).__enter__(), which a MagicMock does
# not make open(p) itself. In a module that patches names the fix keeps the name bound to
# open(p) itself: try/finally, not with.


def read(p):
    fobj = open(p)
    try:
        data = fobj.read()
    finally:
        fobj.close()
    return data


def read_once(p):
    return open(p).read()  # LL102's with is unsafe here too


def test_read():
    with mock.patch("builtins.open") as opened:
        assert read("p") is opened.return_value.read.return_value
