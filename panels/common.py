"""The Inbetween panel's contents, shared by the Sequencer and the 3D viewport sidebars."""

import textwrap

ADDON_PACKAGE = __package__.rpartition(".")[0]
CHARACTER_PX = 7  # about one character of the UI font at scale 1: where long lines wrap

STATE_ICONS = {"DONE": "CHECKMARK", "FAILED": "ERROR", "CANCELLED": "CANCEL", "RUNNING": "SORTTIME"}
SHOT_ICONS = {"done": "CHECKMARK", "reused": "CHECKMARK", "failed": "ERROR", "skipped": "FORWARD",
              "cancelled": "CANCEL", "running": "SORTTIME", "queued": "TIME"}
WORKER_ICONS = {"ready": "CHECKMARK", "loading": "SORTTIME", "failed": "ERROR", "stopped": "DOT"}


class InbetweenPanel:
    """The sidebar tab "Inbetween"; subclasses name the editor."""

    bl_label = "Inbetween"
    bl_region_type = "UI"
    bl_category = "Inbetween"

    def draw(self, context):
        draw_inbetween_panel(self.layout, context)


def draw_inbetween_panel(layout, context):
    settings = context.scene.mpd_inbetween
    layout.use_property_split = True
    layout.use_property_decorate = False
    draw_setup_needed(layout, context)

    col = layout.column()
    col.prop(settings, "source")
    chain = False  # the 3D scene's chain, when its keys serve instead of frames A and B
    if settings.source == "SCENE":
        col.prop(settings, "chain")
        chain = settings.chain and draw_scene_chain(col, context)
        if not chain:
            row = col.row(align=True)
            row.prop(settings, "frame_a")
            row.prop(settings, "frame_b")
            col.operator("mpd.keyframes_from_scene", text="Keys Around Current Frame", icon="KEYFRAME")
    elif settings.source == "STRIPS":
        col.operator("mpd.keyframes_from_strips", text="Use Selected Strips", icon="SEQ_STRIP_DUPLICATE")
        row = col.row(align=True)
        row.enabled = False
        row.prop(settings, "frame_a")
        row.prop(settings, "frame_b")
    else:
        col.prop(settings, "start_image")
        col.prop(settings, "end_image")
        row = col.row(align=True)
        row.prop(settings, "frame_a")
        row.prop(settings, "frame_b")
    if not chain:
        col.label(text=f"Strip of {max(0, settings.frame_b - settings.frame_a + 1)} frames")
    if settings.source == "SCENE":
        draw_quick_capture(layout.column(), settings)

    col = layout.column()
    col.prop(settings, "shot_name")
    col.prop(settings, "engine")
    draw_engine_settings(layout, context)
    draw_job(layout, context)


def draw_engine_settings(layout, context) -> None:
    """What the engine in use reads: SVD's sampler, seed, takes, motion and size; RIFE's scale;
    nothing for Flow."""
    from ..generation import engine_in_use

    settings = context.scene.mpd_inbetween
    engine = engine_in_use(context)
    if engine == "rife":
        layout.prop(settings, "rife_scale")
    if engine != "svd":
        layout.label(text=f"{'RIFE' if engine == 'rife' else 'Flow'} engine: no sampler, seed or steps to set", icon="INFO")
        return
    col = layout.column()
    col.prop(settings, "sampler")
    row = col.row(align=True)
    row.active = not settings.random_seed
    row.prop(settings, "seed")
    col.prop(settings, "random_seed")
    col.prop(settings, "steps")
    col.prop(settings, "variants")
    draw_motion(layout.column(), settings)
    draw_size(layout.column(), context)


def draw_motion(col, settings) -> None:
    """SVD's motion conditioning: the sampler's defaults until Custom Motion, then a reset to them."""
    from ..mpd_backend.contract.sampler_table import sampler_info

    col.prop(settings, "custom_motion")
    if not settings.custom_motion:
        defaults = sampler_info(settings.sampler).motion_defaults()
        col.label(text=f"Motion {defaults['motion_bucket_id']}, noise {defaults['noise_aug_strength']:g}, "
                       f"{defaults['fps']} fps (the sampler's)", icon="BLANK1")
        return
    sub = col.column(align=True)
    sub.prop(settings, "motion_bucket_id")
    sub.prop(settings, "noise_aug_strength")
    sub.prop(settings, "fps")
    col.operator("mpd.motion_reset", text="Reset to the Sampler's Defaults", icon="LOOP_BACK")


def draw_setup_needed(layout, context) -> None:
    """No backend to run a job with yet: say so first, with the way to the add-on's preferences."""
    from ..backend_setup import backend_configured

    if backend_configured(context):
        return
    env = context.window_manager.mpd_env
    box = layout.box()
    box.label(text="Setup needed", icon="ERROR")
    draw_wrapped(box, context, env.message or "No backend environment is installed.")
    box.operator("preferences.addon_show", text="Open the Add-on's Preferences", icon="PREFERENCES").module = ADDON_PACKAGE


def draw_quick_capture(col, settings) -> None:
    col.prop(settings, "quick_capture")
    if settings.quick_capture:
        sub = col.column(align=True)
        sub.prop(settings, "capture_percentage")
        sub.prop(settings, "capture_samples")
        sub.prop(settings, "capture_workbench")


def draw_size(col, context) -> None:
    """Width, Height and Low VRAM: what the memory warning and the out-of-memory hint point to."""
    from .. import preferences

    settings = context.scene.mpd_inbetween
    row = col.row(align=True)
    row.prop(settings, "width")
    row.prop(settings, "height")
    col.prop(preferences.get(context), "low_vram")


def draw_wrapped(layout, context, text: str, icon: str = "NONE") -> None:
    """A long message as several lines, at the panel's width."""
    region = getattr(context, "region", None)
    width = max(24, int((region.width if region else 420) / CHARACTER_PX))
    col = layout.column(align=True)
    for number, line in enumerate(textwrap.wrap(text, width) or [""]):
        col.label(text=line, icon=icon if number == 0 else ("BLANK1" if icon != "NONE" else "NONE"))


def draw_scene_chain(layout, context) -> bool:
    """The chain a Generate will make from the 3D scene: its keys, or why frames A and B serve."""
    from ..keyframes import scene_chain_frames

    frames, why = scene_chain_frames(context)
    if not frames:
        layout.label(text=f"{why}: frames A and B", icon="INFO")
        return False
    layout.label(text=f"{why}: a strip of {frames[-1] - frames[0] + 1} frames", icon="KEYFRAME_HLT")
    return True


def draw_job(layout, context):
    state = context.window_manager.mpd_job
    if state.state == "RUNNING":
        layout.progress(factor=state.progress, type="BAR", text=state.message or "Running")
        draw_live_preview(layout, state)
        layout.operator("mpd.cancel", text="Cancel", icon="CANCEL")
        draw_shots(layout, state)
        draw_worker(layout, context.window_manager.mpd_worker)
        return
    draw_cost(layout, context)
    layout.operator("mpd.generate", text="Generate Inbetweens", icon="RENDER_ANIMATION")
    draw_active_strip(layout, context)
    settings = context.scene.mpd_inbetween
    layout.operator("mpd.generate_markers", text="Generate over Markers", icon="MARKER_HLT").per_shot = settings.markers_per_shot
    layout.prop(settings, "markers_per_shot")
    row = layout.row(align=True)
    row.operator("mpd.export_batch", text="Export Batch for Farm", icon="EXPORT")
    row.operator("mpd.import_batch", text="Import Batch Results", icon="IMPORT")
    if state.state != "IDLE":
        box = layout.box()
        draw_wrapped(box, context, state.message, STATE_ICONS.get(state.state, "INFO"))
        if state.hint:
            draw_wrapped(box, context, state.hint)
        if state.folder:
            row = box.row(align=True)
            row.operator("wm.path_open", text="Open Folder", icon="FILE_FOLDER").filepath = state.folder
            draw_contact_sheet(row, state.folder)
        if state.log:
            box.label(text=f"Worker log: {state.log}", icon="TEXT")
    draw_shots(layout, state)
    draw_worker(layout, context.window_manager.mpd_worker)


def draw_active_strip(layout, context) -> None:
    """The active inbetween strip (the newest take once a job lands): its takes, a re-run, and its
    frames in the 3D view, in a movie, on a contact sheet."""
    from ..strips import active_inbetween, record_of, take_strips

    strip = active_inbetween(context)
    box = layout.box()
    if strip is None:
        box.label(text="No inbetween strip is active", icon="SEQUENCE")
        return
    record = record_of(strip)
    takes = take_strips(strip.id_data, record["take_group"]) if record.get("take_group") else [strip]
    box.label(text=f"{strip.name} ({takes.index(strip) + 1 if strip in takes else 1} of {len(takes)})", icon="SEQUENCE")
    row = box.row(align=True)
    row.operator("mpd.take_step", text="Previous Take", icon="TRIA_LEFT").step = -1
    row.operator("mpd.take_step", text="Next Take", icon="TRIA_RIGHT").step = 1
    box.operator("mpd.take_keep", icon="CHECKMARK")
    row = box.row(align=True)
    row.operator("mpd.rerun", text="Re-run", icon="FILE_REFRESH").new_seed = False
    row.operator("mpd.rerun", text="Re-run with New Seed", icon="FILE_REFRESH").new_seed = True
    row = box.row(align=True)
    row.operator("mpd.camera_background", text="Camera Background", icon="OUTLINER_OB_CAMERA")
    row.operator("mpd.export_movie", text="Export Movie", icon="FILE_MOVIE")
    draw_contact_sheet(box, record["job"])


def draw_contact_sheet(layout, folder: str) -> None:
    """The job's contact sheet (every frame, keys marked), opened in the system's image viewer."""
    from pathlib import Path

    from ..mpd_backend.contract.job_folder import CONTACT_SHEET

    sheet = Path(folder) / CONTACT_SHEET
    if sheet.is_file():
        layout.operator("wm.path_open", text="Contact Sheet", icon="IMAGE_DATA").filepath = str(sheet)


def draw_live_preview(layout, state):
    """The running job's latest denoised estimate (a few frames), with time so far and to go."""
    from .live_preview import preview_icon

    if state.timing:
        layout.label(text=state.timing, icon="TIME")
    icon = preview_icon(state.preview, state.preview_step)
    if icon:
        layout.template_icon(icon_value=icon, scale=6.0)


def draw_cost(layout, context):
    """What a Generate will cost with these settings (SVD engine), before it runs: the keys' render
    (once this scene has been captured, its time is known), the start and the model load when the
    worker is not up with them, the denoising, the decode and the writing."""
    from .. import capture, generation, preferences
    from ..core.job_cost import job_cost

    engine = generation.engine_in_use(context)
    if engine != "svd":  # no model to load, no sampler: the frames to draw are the cost
        keys = priced_key_frames(context)
        if keys:
            drawn = keys[-1] - keys[0] + 1 - len(keys)
            layout.label(text=f"{'RIFE' if engine == 'rife' else 'Flow'} engine: {drawn} frames to draw, "
                              "no SVD model to load", icon="TIME")
        return
    prefs = preferences.get(context)
    settings, env = context.scene.mpd_inbetween, context.window_manager.mpd_env
    keys = priced_key_frames(context)
    to_render, capture_s = capture.keys_to_render(context.scene, keys) if settings.source == "SCENE" and keys else (0, 0.0)
    cost = job_cost(prefs.model_argument(), prefs.device, prefs.dtype, prefs.low_vram, env.report, settings.sampler,
                    settings.steps, settings.width, settings.height, keys, generation.worker_is_warm(context), capture_s or 0.0,
                    settings.variants)
    unknown = f" + rendering {to_render} keys" if to_render and capture_s is None and cost.calibrated else ""
    row = layout.row()
    row.label(text=cost.text + unknown, icon="TIME")
    if not cost.calibrated:
        row.operator("mpd.calibrate", text="Calibrate", icon="SETTINGS")
        if env.calibration:  # calibrating, or why it failed
            draw_wrapped(layout, context, env.calibration)
    if cost.warning:
        draw_wrapped(layout, context, cost.warning, "ERROR")


def priced_key_frames(context) -> list[int]:
    """The key frames a Generate will run through (3D scene, storyboard strips, files), for its price."""
    from .. import compat
    from ..core.user_error import UserError
    from ..keyframes import scene_chain_frames, strip_keyframes

    settings = context.scene.mpd_inbetween
    chain = scene_chain_frames(context)[0] if settings.source == "SCENE" and settings.chain else []
    if settings.source == "STRIPS":
        try:
            return [frame for frame, _ in strip_keyframes(compat.sequencer_scene(context))[0]]
        except UserError:
            return []
    return chain or ([settings.frame_a, settings.frame_b] if settings.frame_b > settings.frame_a else [])


def draw_worker(layout, worker):
    """The backend worker: whether its model is loaded, and the button that frees it."""
    row = layout.row()
    row.label(text=worker.message or "Backend not running", icon=WORKER_ICONS.get(worker.state, "DOT"))
    if worker.state in ("loading", "ready"):
        row.operator("mpd.release_backend", text="", icon="X")


def draw_shots(layout, state):
    """A batch's shots with their status; a failed one says why."""
    if not state.shots:
        return
    box = layout.box()
    for shot in state.shots:
        row = box.row()
        row.label(text=f"{shot.name} ({shot.frames})", icon=SHOT_ICONS.get(shot.status, "DOT"))
        row.label(text=shot.status)
        if shot.reason and shot.status == "failed":
            box.label(text=shot.reason, icon="BLANK1")
