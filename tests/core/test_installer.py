"""The managed backend environment, really installed from the repo's requirement files with pip."""

import importlib
import shutil
import time

import pytest


@pytest.fixture(scope="module")
def environment(addon_package):
    return importlib.import_module("mpd_inbetween.core.installer")


def run(installer, until=lambda i: i.state != "installing", timeout=900):
    deadline = time.monotonic() + timeout
    while not until(installer):
        installer.poll()
        assert time.monotonic() < deadline, f"installer stuck: {installer.message}"
        time.sleep(0.2)
    return installer


@pytest.mark.slow
def test_install_verifies_with_the_doctor_and_tracks_requirement_changes(environment, tmp_path, monkeypatch):
    folder = tmp_path / "managed env"
    assert environment.status(folder, "cpu").state == "not_installed"
    installer = run(environment.Installer(folder, "cpu").start())
    assert installer.state == "ready", (installer.message, installer.last_log_line())
    status = environment.status(folder, "cpu")
    assert status.state == "ready" and status.python == str(environment.env_python(folder))
    assert status.report["versions"]["torch"].startswith("2.13.0")
    assert any(d["device"] == "cpu" for d in status.report["devices"])
    log = environment.log_path(folder).read_text()
    assert "Installing torch for CPU" in log and "Checking it with the doctor" in log

    # Another accelerator, or a changed requirement file: the environment needs an update.
    assert environment.status(folder, "cuda").state == "needs_update"
    changed = tmp_path / "requirements"
    shutil.copytree(environment.REQUIREMENTS, changed)
    (changed / "backend.txt").write_text((changed / "backend.txt").read_text() + "# a new pin\n")
    monkeypatch.setattr(environment, "REQUIREMENTS", changed)
    assert environment.status(folder, "cpu").state == "needs_update"


def no_packages():
    """pip on an offline machine: no index and no local wheels."""
    return dict(pip_args=("--no-index",), extra_env={"PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": ""})


def test_a_failed_install_is_reported_with_its_log(environment, tmp_path):
    folder = tmp_path / "env"
    installer = run(environment.Installer(folder, "cpu", **no_packages()).start(), timeout=300)
    assert installer.state == "failed"
    assert installer.message.startswith("Installing torch for CPU failed")
    assert "No matching distribution" in environment.log_path(folder).read_text()
    status = environment.status(folder, "cpu")
    assert status.state == "failed" and str(environment.log_path(folder)) in status.hint


def test_a_cancelled_install_leaves_nothing_marked_ready(environment, tmp_path):
    folder = tmp_path / "env"
    installer = run(environment.Installer(folder, "cpu").start(), until=lambda i: i.step >= 1, timeout=300)
    installer.cancel()
    assert installer.state == "not_installed" and "removed" in installer.message and not folder.exists()
    assert environment.status(folder, "cpu").state == "not_installed"
    assert "CANCELLED" in environment.log_path(folder).read_text()


def test_doctor_problem_names_a_cpu_only_torch_on_an_nvidia_choice(environment):
    cpu_only = {"devices": [{"device": "cpu"}]}
    assert "sees no NVIDIA GPU" in environment.doctor_problem(cpu_only, "cuda")
    assert environment.doctor_problem({"devices": [{"device": "cuda:0"}, {"device": "cpu"}]}, "cuda") is None
    assert environment.doctor_problem(cpu_only, "cpu") is None
