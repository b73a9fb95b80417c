"""Entry scripts, run from the repository root as ``python -m tools.<name>``: the demo, the
benchmarks and the renders they measure. Their shared helpers live in ``mpd_testing``."""
