"""The backend suite's fixtures: the tiny random SVD, built once per run."""

from tests.backend.conftest import tiny_model_dir  # noqa: F401
