"""A resource handed on where it did not leak (stored in a list, registered for clean-up),
left open when a statement before the hand-off fails: released in an `except` that
re-raises around only the statements before the hand-off, where nothing but the function
holds it (safe). The statement that hands it on stays outside."""

import socket
import unittest


class Server:
    def connect(self, host, port, streams):
        s = socket.socket()
        try:
            s.settimeout(5)
            s.connect((host, port))
        except BaseException:
            s.close()
            raise
        streams.append(s)

    def adopt(self, fd, registry):
        # a method's result that is data (getsockname) may be handed on
        port = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)
        try:
            name = port.getsockname()[0]
        except BaseException:
            port.close()
            raise
        registry.append(port)
        return name


class Test(unittest.TestCase):
    def test_listen(self):
        port = socket.socket()
        try:
            port.bind(("127.0.0.1", 0))
            port.listen(1)
        except BaseException:
            port.close()
            raise
        self.addCleanup(port.close)
        self.assertTrue(port.fileno())

    def gen_lines(self, host):
        # a yield before the hand-off: an `except BaseException` would also run on the
        # generator's close(): no such fix
        s = socket.socket()
        yield s.getsockname()
        self.addCleanup(s.close)
