"""Benchmark scripts and their targets: outside the installed package (run from the repository root)."""
