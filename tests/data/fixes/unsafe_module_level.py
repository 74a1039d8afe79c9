"""LL102 at module level: the new name becomes a module attribute (an unsafe fix)."""

VERSION = open(__file__).readline()
