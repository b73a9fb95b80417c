"""Test and benchmark fixtures: the tiny random SVD and SVD-XT's architecture with random weights.

Not part of the extension zip (``blender_manifest.toml`` excludes it) and never imported by the
backend or the add-on."""
