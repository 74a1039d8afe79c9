"""LL102 at module level: the new name becomes a module attribute (an unsafe fix)."""

with open(__file__) as f:
    VERSION = f.readline()
