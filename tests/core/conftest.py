"""The add-on's bpy-free logic, imported as Blender imports it: as a package (here through a link
named like the extension), so its relative imports of mpd_backend resolve the same way."""

import importlib
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def addon_package(tmp_path_factory):
    root = tmp_path_factory.mktemp("extension")
    (root / "mpd_inbetween").symlink_to(REPO, target_is_directory=True)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("mpd_inbetween")
    finally:
        sys.path.remove(str(root))


@pytest.fixture(scope="session")
def shots(addon_package):
    return importlib.import_module("mpd_inbetween.core.shots")


@pytest.fixture(scope="session")
def child_process(addon_package):
    return importlib.import_module("mpd_inbetween.core.child_process")
