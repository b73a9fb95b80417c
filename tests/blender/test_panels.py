"""Every panel's and the preferences' draw() against a layout that records its calls and checks
them as Blender would: a property that does not exist, an operator that is not registered or an
icon Blender does not know fails here, not in the console of a user's session."""

from __future__ import annotations

import json
from types import SimpleNamespace

import bpy
import pytest

from .conftest import module

ICONS = set(bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items.keys())


class RecordingLayout:
    """Stands in for ``bpy.types.UILayout``: records each call; sub-layouts share the record."""

    def __init__(self, calls: list):
        self.calls = calls
        self.enabled = self.active = True
        self.use_property_split = self.use_property_decorate = False

    def _sub(self, *args, **kwargs) -> RecordingLayout:
        return RecordingLayout(self.calls)

    row = column = box = split = column_flow = grid_flow = _sub

    def _icon(self, kwargs):
        icon = kwargs.get("icon", "NONE")
        assert icon in ICONS, f"unknown icon {icon!r}"

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, f"{type(data).__name__} has no property {name!r}"
        self._icon(kwargs)
        self.calls.append(("prop", name))

    def operator(self, idname, **kwargs):
        category, name = idname.split(".")
        assert hasattr(bpy.types, f"{category.upper()}_OT_{name}"), f"operator {idname} is not registered"
        self._icon(kwargs)
        self.calls.append(("operator", idname))
        return SimpleNamespace()

    def label(self, text="", **kwargs):
        self._icon(kwargs)
        self.calls.append(("label", text))

    def progress(self, factor=0.0, type="BAR", text=""):
        assert 0.0 <= factor <= 1.0
        self.calls.append(("progress", text))

    def separator(self, **kwargs):
        pass

    def template_icon(self, icon_value=0, scale=1.0):
        assert isinstance(icon_value, int) and icon_value > 0
        self.calls.append(("template_icon", icon_value))


def draw_all(context) -> list:
    """Every panel class of the add-on and the preferences, drawn once; their calls."""
    calls = []
    for panel in module("panels").classes:
        panel.draw(SimpleNamespace(layout=RecordingLayout(calls)), context)
    prefs = context.preferences.addons[module("preferences").__package__].preferences
    module("panels.backend_settings").draw_preferences(prefs, RecordingLayout(calls))
    return calls


@pytest.fixture
def states(scene, prefs):
    wm = bpy.context.window_manager
    yield scene.mpd_inbetween, wm.mpd_job, wm.mpd_env, wm.mpd_worker
    wm.mpd_job.state, wm.mpd_env.state, wm.mpd_env.model_state, wm.mpd_worker.state = "IDLE", "not_installed", "idle", "stopped"
    wm.mpd_job.shots.clear()


@pytest.mark.parametrize("source", ["SCENE", "STRIPS", "FILES"])
@pytest.mark.parametrize("job", ["IDLE", "RUNNING", "DONE", "FAILED", "CANCELLED"])
def test_the_panels_draw_in_every_state(states, source, job):
    settings, job_state, env, worker = states
    settings.source, job_state.state = source, job
    job_state.message, job_state.hint, job_state.folder, job_state.log = "message", "hint", "/jobs/x", "/jobs/batch.jsonl"
    for name, status in (("A-B", "done"), ("B-C", "failed"), ("C-D", "running")):
        shot = job_state.shots.add()
        shot.name, shot.frames, shot.status, shot.reason = name, "1-5", status, "why"
    worker.state, worker.message = "ready", "Backend ready"
    calls = draw_all(bpy.context)
    operators = {c[1] for c in calls if c[0] == "operator"}
    assert ("mpd.cancel" in operators) == (job == "RUNNING")
    assert ("mpd.generate" in operators) == (job != "RUNNING")
    assert ("mpd.export_batch" in operators) == ("mpd.import_batch" in operators) == (job != "RUNNING")
    assert "mpd.release_backend" in operators
    assert ("label", "A-B (1-5)") in calls and ("label", "why") in calls


@pytest.mark.parametrize("env_state", ["not_installed", "installing", "ready", "needs_update", "failed"])
@pytest.mark.parametrize("model_state", ["idle", "downloading", "ready", "failed"])
def test_the_preferences_draw_in_every_state(states, env_state, model_state):
    _, _, env, _ = states
    env.state, env.model_state, env.message, env.model_message = env_state, model_state, "message", "model message"
    env.report = json.dumps({
        "versions": {"torch": "2.13.0", "diffusers": "0.42.1"},
        "devices": [{"device": "cuda:0", "name": "GPU", "free_gib": 10.0, "total_gib": 24.0}, {"device": "cpu", "name": "x86"}],
        "auto": {"device": "cuda", "dtype": "float16", "low_vram": False},
        "model": {"model": "m", "found": True, "size_gib": 4.2},
    })
    calls = draw_all(bpy.context)
    operators = {c[1] for c in calls if c[0] == "operator"}
    assert ("mpd.env_cancel" in operators) == (env_state == "installing" or model_state == "downloading")
    assert ("prop", "worker_idle_minutes") in calls and ("prop", "model") in calls


def test_the_chosen_models_licence_is_shown(states, prefs):
    prefs.model = "stabilityai/stable-video-diffusion-img2vid-xt"
    calls = draw_all(bpy.context)
    assert ("label", "Licence: Stability AI Community License") in calls and ("operator", "wm.url_open") in calls
    assert any(c[0] == "label" and c[1].startswith("Gated on Hugging Face") for c in calls)
    prefs.model = "/models/my-own-interpolator"
    assert not any(c[0] == "label" and c[1].startswith("Licence:") for c in draw_all(bpy.context))


def test_a_missing_property_fails_the_draw(states):
    """The recorder itself: what a renamed property would do to a panel."""
    layout = RecordingLayout([])
    with pytest.raises(AssertionError, match="no property 'sampler_name'"):
        layout.prop(states[0], "sampler_name")
    with pytest.raises(AssertionError, match="not registered"):
        layout.operator("mpd.no_such_operator")
    with pytest.raises(AssertionError, match="unknown icon"):
        layout.label(text="x", icon="NO_SUCH_ICON")


def test_the_panel_shows_what_the_engine_reads_and_the_active_strips_actions(states, tmp_path):
    settings = states[0]
    settings.engine = "svd"
    props = {c[1] for c in draw_all(bpy.context) if c[0] == "prop"}
    assert {"sampler", "seed", "random_seed", "steps", "variants", "custom_motion", "width"} <= props
    assert "motion_bucket_id" not in props  # the sampler's defaults, as a line
    settings.custom_motion = True
    calls = draw_all(bpy.context)
    assert {("prop", "motion_bucket_id"), ("prop", "noise_aug_strength"), ("prop", "fps"), ("operator", "mpd.motion_reset")} <= set(calls)
    settings.engine = "flow"
    props = {c[1] for c in draw_all(bpy.context) if c[0] == "prop"}
    assert "engine" in props and not props & {"sampler", "seed", "steps", "variants", "custom_motion", "width", "rife_scale"}
    settings.engine = "rife"
    props = {c[1] for c in draw_all(bpy.context) if c[0] == "prop"}
    assert {"engine", "rife_scale"} <= props and not props & {"sampler", "seed", "steps", "variants", "custom_motion", "width"}

    job = tmp_path / "job"
    job.mkdir()
    (job / "contact_sheet.png").write_bytes(b"png")
    editor = bpy.context.scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    strip = strips.new_effect(name="Inbetween S", type="COLOR", channel=1, frame_start=1,
                              **({"length": 5} if bpy.app.version >= (5, 0, 0) else {"frame_end": 6}))
    strip["mpd_inbetween"] = {"job": str(job), "shot": "S", "take_group": "abc", "take": 2}
    editor.active_strip = strip
    operators = {c[1] for c in draw_all(bpy.context) if c[0] == "operator"}
    assert {"mpd.take_step", "mpd.take_keep", "mpd.rerun", "mpd.camera_background", "mpd.export_movie", "wm.path_open"} <= operators
    assert ("label", "Inbetween S (1 of 1)") in draw_all(bpy.context)
