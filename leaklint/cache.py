"""The content cache: per-file summaries and per-file results, keyed by what they depend on.

Two kinds of entries, one file each under the cache folder (``.leaklint_cache/`` in the
project root by default):

- ``facts/<key>``: the ``ast`` summary of one file (``ModuleFacts`` or its syntax error).
  The key is a hash of the file's bytes, its path, its module name (the ``__init__.py``
  files above it decide that) and the fingerprint of leaklint's own code.
- ``results/<key>``: the findings of one file. The key is a hash of the file's bytes, its
  path and the fingerprint of the project as the analysis sees it (below).
- ``manifest/<key>``: a whole run, answered without reading a single checked file (below).

The project fingerprint is a hash of the effective configuration (``repr`` of the whole
``Config``: rules, resources, per-file ignores, root; and the working folder, against which
relative paths resolve), leaklint's code fingerprint, each summarised module's *view* in
order, and every factory the summaries derived (with its origin, ``open() at db.py:12``,
which messages in other files quote). A module's view is its summary with what no other
file's analysis reads left out: the line of each function and class, and the lines of the
calls a function returns (they reach other files only through the origins, hashed apart).
So an edit that leaves every summary as the analysis sees it (a comment, a changed body that
acquires nothing new, lines moved below the last factory) keeps every other file's key, and
only the edited file is analysed again; an edit that changes a summary (a helper that now
returns an open file, a factory moved to another line) changes every key, since a file's
findings can depend on any module it reaches through imports (factories of factories, base
classes), and the whole project's view is the simplest key that is certainly correct.

The manifest of a run is keyed by the configuration, the code fingerprint, the working
folder, ``LEAKLINT_NO_PREFILTER`` and the run's list of paths. It holds the finished result of every file, the
project fingerprint, each module's view, and a signature of every file the run read (the
checked files and the modules their imports reached) and of every folder whose listing
decided a module name or where an import leads. A run whose signatures all match returns
the stored results after one read of the manifest and a ``stat`` per file, without
importing the analysis or libcst. The signature is size, ``st_mtime_ns``, ``st_ctime_ns``,
inode and device, together, as git's index and ruff's cache use them: an edit that restores
the old mtime (``touch -d``, ``rsync -t``, ``cp -p``) still sets the ctime, which no user
can set back, and a file replaced by a rename has another inode. A file whose mtime or ctime
was less than ``RACY_NS`` (2 s) before the moment it was signed is recorded unsigned
(git's "racy" entries): a second write within the clock's granularity could leave all
four equal, so the next run reads it and compares its bytes. A run with some files
changed (folders unchanged) reads just those; where the bytes are new it summarises them,
and if their views (and the lines of the factories they define) are unchanged, analyses
only them, with the project kept beside the manifest (``project/<fingerprint>``, pickled a
module at a time and unpickled as the analysis looks names up; the 4 newest are kept).
Anything else (a folder changed, a view changed, a missing entry) is the normal run, which
writes a new manifest.

leaklint's code fingerprint is its version plus a hash of its own sources and resource
table, so an editable install that changed the analysis never reuses stale results.

Every entry is ``MAGIC + blake2b(payload, key=secret) + payload``: a truncated or corrupted
file fails the check and is a miss. The payload is a pickle, and unpickling runs code, so
the check is keyed: ``secret`` is 32 random bytes kept in the user's own cache folder
(``$XDG_CACHE_HOME/leaklint/cache-key``), never in the project's. A repository that ships a
``.leaklint_cache/`` of crafted entries (its keys are easy to compute from public sources)
gets misses, not code execution; so does a cache another user wrote. Writes go to a temporary file in the same folder, then
``os.replace``: two processes writing one entry at once leave one whole entry. A folder that
cannot be created or written, or a secret that cannot be kept, makes the run uncached,
silently.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from leaklint import __version__
from leaklint.files import NotReadable, read_file

DEFAULT_FOLDER = ".leaklint_cache"
_MAGIC = b"LLC2"
_CHECK = 16  # bytes of the payload's digest


def digest(*parts: str | bytes) -> str:
    """A short hex hash of ``parts`` (length-prefixed, so ("ab", "c") != ("a", "bc"))."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """leaklint's version and a hash of its own sources: what makes an entry ours."""
    package = Path(__file__).resolve().parent
    h = hashlib.blake2b(digest_size=16)
    h.update(__version__.encode())
    for file in sorted([*package.rglob("*.py"), *package.rglob("*.toml")]):
        try:
            h.update(file.relative_to(package).as_posix().encode())
            h.update(file.read_bytes())
        except OSError:
            h.update(b"?")
    return h.hexdigest()


#: A file changed less than this before it was signed is recorded unsigned ("racy").
RACY_NS = 2_000_000_000

Signature = tuple[int, int, int, int, int]


def signature(path: str) -> Signature | None:
    """(size, mtime_ns, ctime_ns, inode, device) of a file or folder; None if it is gone."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def trusted_signature(path: str, since: int | None = None) -> Signature | None:
    """``signature``, or None where a write in the same clock tick could go unseen: one
    changed less than ``RACY_NS`` before now (or before ``since``, a ``time.time_ns()``
    taken before the run looked at it)."""
    now = time.time_ns() if since is None else since
    sig = signature(path)
    if sig is None or max(sig[1], sig[2]) >= now - RACY_NS:
        return None
    return sig


@dataclass
class Manifest:
    """One run's answer (see the module docstring); built by ``leaklint.manifest``."""

    key: str  # the manifest's own key: an entry renamed to another run's is not used
    results: list  # FileResult of each target, in the targets' order
    fingerprint: str  # of the project as the analysis saw it (keys the results)
    #: every file read: path -> (signature or None: read it to know, digest of its bytes)
    files: dict[str, tuple[Signature | None, str]] = field(default_factory=dict)
    folders: dict[str, Signature | None] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)  # path -> view of its summary
    #: path -> the lines of it that the origins of its derived factories quote
    anchors: dict[str, tuple] = field(default_factory=dict)

    def changed(self) -> list[str] | None:
        """The files whose signature differs (or was never trusted); None when a folder
        changed, which only a whole run can answer."""
        for folder, sig in self.folders.items():
            if sig is None or signature(folder) != sig:
                return None
        return [path for path, (sig, _) in self.files.items() if sig is None or signature(path) != sig]


def _key_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA")
    return Path(base or Path.home() / ".cache") / "leaklint" / "cache-key"


_KEY_BYTES = 32


@lru_cache(maxsize=1)
def secret() -> bytes | None:
    """The key every entry is checked with, made on first use (None: none can be kept).
    Two processes making it at once agree: the first one's file is linked into place whole
    and the other reads it."""
    try:
        file = _key_file()
    except RuntimeError:  # no home folder to be found
        return None
    key = _read_own(file, _KEY_BYTES)
    return key if len(key) == _KEY_BYTES else _make_key(file)


def _make_key(file: Path) -> bytes | None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=file.parent, prefix=".tmp-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(os.urandom(_KEY_BYTES))
            try:
                os.link(temporary, file)  # never replaces a key another process made
            except FileExistsError:
                if len(_read_own(file, _KEY_BYTES)) != _KEY_BYTES:  # damaged: replace it
                    os.replace(temporary, file)
            except OSError:  # no hard links here
                os.replace(temporary, file)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    except OSError:
        return None
    key = _read_own(file, _KEY_BYTES)
    return key if len(key) == _KEY_BYTES else None


#: No entry is bigger (the standard library's kept project is about 20 MB); a bigger file
#: is not ours, and is not read.
_MAX_ENTRY_BYTES = 1 << 30


def _read_own(path: Path, limit: int) -> bytes:
    """The bytes of a file leaklint wrote (an entry, the key), read as source files are and
    stricter (``read_file``): a regular file, not a symlink, of at most ``limit`` bytes,
    never a blocking read. Anything else (a FIFO, a link to ``/dev/zero``) is ``b""``."""
    try:
        return read_file(str(path), limit, follow=False)
    except NotReadable:
        return b""


def _check(payload: bytes, key: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_CHECK, key=key).digest()


class Cache:
    """A folder of entries. ``get`` never raises; ``put`` never raises and stops writing
    after the first failure (a read-only or full disk)."""

    def __init__(self, folder: Path, key: bytes | None = None) -> None:
        self.folder = folder
        self.key = key if key is not None else secret() or b""
        self.writable = True

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> Cache | None:
        """The cache in ``folder``, created with a ``.gitignore``; None if it cannot be."""
        path = Path(folder)
        key = secret()
        if key is None:
            return None
        try:
            path.mkdir(parents=True, exist_ok=True)
            ignore = path / ".gitignore"
            if not ignore.exists():
                _write_atomic(ignore, b"# created by leaklint\n*\n")
            tag = path / "CACHEDIR.TAG"
            if not tag.exists():
                _write_atomic(
                    tag,
                    b"Signature: 8a477f597d28d172789f06886806bc55\n"
                    b"# This file is a cache directory tag created by leaklint.\n",
                )
        except OSError:
            if not path.is_dir():
                return None
            cache = cls(path, key)
            cache.writable = False  # read what is there, write nothing
            return cache
        return cls(path, key)

    def _file(self, kind: str, key: str) -> Path:
        return self.folder / kind / key

    def get(self, kind: str, key: str) -> object | None:
        """The entry, or None when it is missing, damaged or unreadable."""
        data = _read_own(self._file(kind, key), _MAX_ENTRY_BYTES)
        if len(data) < len(_MAGIC) + _CHECK or not data.startswith(_MAGIC):
            return None
        check = data[len(_MAGIC) : len(_MAGIC) + _CHECK]
        payload = data[len(_MAGIC) + _CHECK :]
        if not hmac.compare_digest(_check(payload, self.key), check):
            return None
        try:
            return pickle.loads(payload)
        except Exception:  # noqa: BLE001 - a damaged entry is a miss, whatever it raises
            return None

    def has(self, kind: str, key: str) -> bool:
        return self._file(kind, key).is_file()

    def prune(self, kind: str, keep: int) -> None:
        """Remove all but the ``keep`` newest entries of ``kind`` (the big ones: a project is
        megabytes, and each edit that changes a summary makes a new one)."""
        if not self.writable:
            return
        try:
            entries = sorted(
                (entry.stat().st_mtime_ns, entry) for entry in (self.folder / kind).iterdir()
            )
            for _, entry in entries[: max(0, len(entries) - keep)]:
                entry.unlink()
        except OSError:
            pass  # another run pruned it first, or the folder is gone: nothing to do

    def put(self, kind: str, key: str, value: object) -> None:
        if not self.writable:
            return
        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - not picklable: not cached
            return
        data = _MAGIC + _check(payload, self.key) + payload
        try:
            target = self._file(kind, key)
            target.parent.mkdir(exist_ok=True)
            _write_atomic(target, data)
        except OSError:
            self.writable = False


def nested_loads(blob: bytes) -> object:
    """Unpickle a pickle kept *inside* an entry that ``Cache.get`` has checked (a kept
    project's modules, unpickled when first looked up): as trusted as that entry. Never for
    bytes from anywhere else."""
    return pickle.loads(blob)


def _write_atomic(target: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
