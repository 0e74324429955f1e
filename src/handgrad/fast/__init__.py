"""What exists only for speed: each piece gives the same numbers as the plain formula
it replaces, and a test under tests/fast/ proves it."""
