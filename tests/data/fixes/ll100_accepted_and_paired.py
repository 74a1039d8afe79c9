"""A listener whose accept() gives the caller a socket of its own (closing the listener
leaves it open), and the two ends of a socketpair (no `with` binds one of them)."""

import socket


def listen_once(path):
    conn = socket.socket(socket.AF_UNIX)
    try:
        conn.bind(path)
        conn.listen(1)
        (r, addr) = conn.accept()
        return r, addr
    except:
        raise


def echo(data):
    a, b = socket.socketpair()
    a.sendall(data)
    got = b.recv(10)
    a.close()
    return got


def ask(path, question):
    # already right: nothing to fix
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall(question)
        answer = s.recv(1024)
    return answer
