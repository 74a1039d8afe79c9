"""Why a file cannot be analysed, in words for its LL900 line: bytes that are not source text
(``_undecodable``), valid code libcst's parser rejects (``_parse_failure``), and nesting deeper
than the analysis can follow, after the retry on a deep stack (``_on_deep_stack``,
``_too_deep``)."""

from __future__ import annotations

import ast
import codecs
import io
import tokenize
from collections.abc import Callable

import libcst as cst

from leaklint.parsing import collector_paused, users_warnings_ignored
from leaklint.results import FileResult


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _undecodable(data: bytes) -> tuple[int, int, str] | None:
    """(line, column, why) when ``data`` is not text CPython can read as source: UTF-16 or
    UTF-32, binary (NUL bytes), or not valid in its encoding (UTF-8 unless a PEP 263 coding
    cookie names another); None when it decodes."""
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            return 1, 0, (
                f"{name} text (it starts with a {name} byte-order mark): Python source must be "
                "UTF-8, or an ASCII-compatible encoding named in a coding cookie"
            )
    if b"\0" in data:
        return 1, 0, "binary file (NUL bytes)"
    problem = None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as err:  # an unknown encoding, a cookie the BOM contradicts, bad bytes
        encoding, problem = "utf-8", err
    try:
        codecs.decode(data, encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1)
        if encoding in ("utf-8", "utf-8-sig"):
            why = (
                "not valid UTF-8 (byte 0x{:02x}) and no PEP 263 coding cookie names another "
                "encoding"
            )
        else:
            why = f"not valid {encoding}, the encoding its coding cookie names (byte 0x{{:02x}})"
        return line, col, why.format(data[err.start])
    if problem is None:
        return None
    if data.startswith(codecs.BOM_UTF8):
        return 1, 0, (
            "it starts with a UTF-8 byte-order mark but its coding cookie names another encoding"
        )
    return problem.lineno or 1, 0, f"cannot decode the file: {problem.msg}"


_MANY_ADJACENT_STRINGS = 1_000


def _parse_failure(data: bytes, err: cst.ParserSyntaxError) -> tuple[int, int, str]:
    """Where and why, for code libcst's parser rejects: a syntax error if CPython's parser
    rejects it too, or else what libcst could not take in the valid code (never "syntax
    error" for valid code)."""
    where = (err.raw_line, err.raw_column)
    try:
        with users_warnings_ignored():
            compile(data, "<checked>", "exec", ast.PyCF_ONLY_AST)
    except SyntaxError:
        return (*where, f"syntax error: {err.message}")
    except (RecursionError, MemoryError, ValueError):
        return (*where, "too deeply nested to analyse")
    run, line, col = _longest_string_run(data)
    if run >= _MANY_ADJACENT_STRINGS:
        return (
            line, col,
            f"analysis skipped: {run:,} adjacent string literals are more than libcst's "
            "parser takes in one expression (the code is valid)",
        )
    return (*where, f"analysis skipped: libcst's parser rejects this valid code ({err.message})")


def _longest_string_run(data: bytes) -> tuple[int, int, int]:
    """The longest run of adjacent string literals (one implicitly concatenated string) and
    the line and column it starts at; (0, 0, 0) if the file does not tokenize."""
    string_tokens = {tokenize.STRING}
    fstring_start = getattr(tokenize, "FSTRING_START", None)  # 3.12+: f-strings in parts
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    between = {tokenize.NL, tokenize.COMMENT}
    best, best_start, run, start, depth = 0, (0, 0), 0, (0, 0), 0
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if depth:  # inside an f-string: its parts are not literals of the run
                depth += (token.type == fstring_start) - (token.type == fstring_end)
                continue
            if token.type in string_tokens or token.type == fstring_start:
                if run == 0:
                    start = token.start
                run += 1
                depth = 1 if token.type == fstring_start else 0
                if run > best:
                    best, best_start = run, start
            elif token.type not in between:
                run = 0
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        return 0, 0, 0
    return best, *best_start


#: the deep-stack retry: Python frames allowed, and the thread's C stack (virtual memory,
#: touched only as deep as the recursion goes). An if/elif chain of 3,000 branches (CPython's
#: own compiler stops near there) needs under 10,000 frames and 16 MB.
_DEEP_RECURSION_LIMIT = 50_000
_DEEP_STACK_BYTES = 256 * 2**20


def _on_deep_stack(work: Callable[[], FileResult]) -> FileResult | None:
    """``work()`` in a thread with a big stack and a raised recursion limit (restored after);
    None if it still recurses too deep. Other exceptions are raised here."""
    import sys
    import threading

    outcome: list[FileResult | BaseException] = []

    def run() -> None:
        try:
            with collector_paused():
                outcome.append(work())
        except BaseException as err:  # noqa: BLE001 - handed to the calling thread
            outcome.append(err)

    previous_limit = sys.getrecursionlimit()
    previous_stack = threading.stack_size()
    threading.stack_size(_DEEP_STACK_BYTES)
    try:
        worker = threading.Thread(target=run, name="leaklint-deep-stack")
    finally:
        threading.stack_size(previous_stack)
    sys.setrecursionlimit(max(previous_limit, _DEEP_RECURSION_LIMIT))
    try:
        worker.start()
        worker.join()
    finally:
        sys.setrecursionlimit(previous_limit)
    result = outcome[0] if outcome else RecursionError()
    if isinstance(result, RecursionError):
        return None
    if isinstance(result, BaseException):
        raise result
    return result


def _too_deep(data: bytes) -> str:
    """What an analysis that recursed too deep even on the deep stack met, in words."""
    branches = _longest_elif_chain(data)
    if branches >= 100:
        return (
            f"analysis skipped: an if/elif chain of {branches:,} branches nests deeper than "
            f"the analysis can follow ({_DEEP_RECURSION_LIMIT:,} Python frames)"
        )
    return f"analysis skipped: nested deeper than the analysis can follow ({_DEEP_RECURSION_LIMIT:,} Python frames)"


def _longest_elif_chain(data: bytes) -> int:
    """The branches of the longest ``if``/``elif`` chain, from the lines alone (the file may be
    too deep for any parser): ``elif`` lines at one indentation with nothing between them at
    that indentation or less but their own bodies."""
    chains: dict[int, int] = {}  # indentation -> branches of the chain open there
    longest = 0
    for raw in data.splitlines():
        text = raw.lstrip()
        if not text or text.startswith(b"#"):
            continue
        indent = len(raw) - len(text)
        for deeper in [i for i in chains if i > indent]:
            del chains[deeper]
        if text.startswith(b"elif") and not text[4:5].isalnum() and text[4:5] != b"_":
            chains[indent] = chains.get(indent, 1) + 1
            longest = max(longest, chains[indent])
        elif not (text.startswith(b"else") and text[4:5] in (b":", b" ")):
            chains.pop(indent, None)
    return longest
