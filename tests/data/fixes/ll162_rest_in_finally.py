"""LL162: an exit that releases several resources, one release raising before the others
run: the releases after it go into a `finally` (the same calls in the same order when none
raises)."""


class Both:
    def __init__(self, a, b, c):
        self.a = a
        self.b = b
        self.c = c

    def __enter__(self):
        self.a = open(self.a)
        self.b = open(self.b)
        self.c = open(self.c)
        return self

    def __exit__(self, *exc):
        self.a.close()
        self.b.close()
        self.c.close()


class Session:
    def __init__(self, session, url):
        self.session = session
        self.url = url
        self.resp = None

    async def __aenter__(self):
        self.resp = await self.session.get(self.url)
        return self.resp

    async def __aexit__(self, *exc):
        self.resp.close()
        await self.session.close()
