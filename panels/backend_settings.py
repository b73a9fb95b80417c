"""Drawing of the add-on's preferences: the backend environment, the model, the worker, where
jobs go."""

import json

ENV_ICONS = {"ready": "CHECKMARK", "needs_update": "ERROR", "failed": "CANCEL", "installing": "SORTTIME", "not_installed": "INFO"}


def draw_preferences(prefs, layout):
    import bpy

    wm = bpy.context.window_manager
    layout.use_property_split = True
    draw_environment(layout.box(), prefs, wm.mpd_env)
    draw_model(layout.box(), prefs, wm.mpd_env, bpy.context.scene)
    box = layout.box()
    box.label(text="Backend Worker", icon="PLUGIN")
    box.prop(prefs, "worker_idle_minutes")
    box.prop(prefs, "cancel_grace_s")
    row = box.row()
    row.label(text=wm.mpd_worker.message or "Backend not running")
    row.operator("mpd.release_backend", icon="X")
    layout.prop(prefs, "output_dir")


def draw_environment(box, prefs, env):
    """The managed environment: its state, install or update, the doctor's report, or your own Python."""
    box.label(text="Backend Environment", icon="CONSOLE")
    col = box.column()
    col.prop(prefs, "accelerator")
    col.prop(prefs, "env_folder")
    box.row().label(text=env.message or env.state.replace("_", " ").capitalize(), icon=ENV_ICONS.get(env.state, "INFO"))
    if env.hint:
        box.label(text=env.hint)
    if env.state == "installing":
        box.progress(factor=env.progress, type="BAR", text=env.log_line[:90] or "Installing")
        box.operator("mpd.env_cancel", icon="CANCEL")
    else:
        if env.log_line:  # the doctor's failure, or its question in flight
            box.label(text=env.log_line, icon="INFO")
        row = box.row(align=True)
        label = "Install" if prefs.backend_python else {"ready": "Reinstall", "needs_update": "Update"}.get(env.state, "Install")
        row.operator("mpd.env_install", text=label, icon="IMPORT")
        row.operator("mpd.env_refresh", text="", icon="FILE_REFRESH")
    if env.report:
        draw_report(box, json.loads(env.report))
    box.prop(prefs, "backend_python", text="Or Your Own Python")


def draw_model(box, prefs, env, scene):
    """The model, whether it is here, and how it runs; a rough GPU memory figure for the scene's size."""
    from ..mpd_backend.contract.pricing import estimate_gpu_memory_gib
    from ..mpd_backend.contract.sampler_table import sampler_info

    box.label(text="Model", icon="NODE_COMPOSITING")
    col = box.column()
    col.prop(prefs, "engine")
    col.prop(prefs, "model")
    draw_model_status(box, prefs, env)
    col = box.column()
    col.prop(prefs, "offline")
    col.prop(prefs, "device")
    col.prop(prefs, "dtype")
    col.prop(prefs, "low_vram")
    row = box.row()
    row.label(text=env.calibration or "Not calibrated: the panel cannot price a job yet", icon="TIME")
    row.operator("mpd.calibrate", icon="SETTINGS")
    settings = scene.mpd_inbetween if scene else None
    if settings is not None:
        width, height = settings.width or 1024, settings.height or 576
        estimate = estimate_gpu_memory_gib(width, height, 25, offload=prefs.low_vram, decode_chunk=2 if prefs.low_vram else 4,
                                           parallel_paths=sampler_info(settings.sampler).parallel_paths)
        box.label(text=f"GPU memory at {width}x{height}, 25 frames: about {estimate['peak_gib']} GiB (rough estimate)", icon="MEMORY")


def draw_model_status(layout, prefs, env):
    import bpy

    from ..core.model_licence import model_licence
    from ..mpd_backend.contract.model_folder import looks_like_path, model_presence

    licence = model_licence(prefs.model_argument())
    if licence is not None:
        row = layout.row()
        row.label(text=f"Licence: {licence.name}", icon="INFO")
        row.operator("wm.url_open", text="Read It", icon="URL").url = licence.url
        layout.label(text=licence.terms)
    presence = model_presence(prefs.model_argument())
    if presence.found:
        layout.label(text=f"On this machine: {presence.size_gib} GiB in {presence.folder}", icon="CHECKMARK")
    else:
        layout.label(text="Not on this machine", icon="ERROR")
    if env.model_state == "downloading":
        layout.progress(factor=env.model_progress, type="BAR", text=env.model_message)
        layout.operator("mpd.env_cancel", icon="CANCEL")
        return
    if env.model_message and env.model_state != "idle":
        layout.label(text=env.model_message, icon="ERROR" if env.model_state == "failed" else "INFO")
    if not presence.found:
        online = getattr(bpy.app, "online_access", False) and not prefs.offline
        row = layout.row()
        row.enabled = online
        row.operator("mpd.model_download", icon="IMPORT")
        if not online:
            layout.label(text="Downloads need online access (Preferences > System > Network)")
        if not looks_like_path(prefs.model_argument()):
            draw_hub_login(layout, prefs, env)


def draw_hub_login(layout, prefs, env):
    """A gated hub model: accept its licence on its page, then log in with a token."""
    row = layout.row(align=True)
    row.operator("wm.url_open", text="Model Page (Accept the Licence)", icon="URL").url = f"https://huggingface.co/{prefs.model}"
    row.operator("mpd.hf_login", icon="USER")
    if env.login_message:
        layout.label(text=env.login_message, icon="INFO")


def draw_report(layout, report):
    versions = report.get("versions", {})
    layout.label(text="  ".join(f"{k} {versions[k]}" for k in ("torch", "diffusers") if k in versions))
    for device in report.get("devices", []):
        memory = f": {device['free_gib']} of {device['total_gib']} GiB free" if "free_gib" in device else ""
        layout.label(text=f"{device['device']} {device.get('name', '')}{memory}", icon="DESKTOP")
    auto = report.get("auto")
    if auto:  # what Auto device and precision settle at, and whether low-VRAM mode turns itself on
        layout.label(text=f"Auto: {auto['device']}, {auto['dtype']}, low VRAM {'on' if auto['low_vram'] else 'off'}")
    rife = report.get("rife")
    if rife:  # the learned interpolator shipped with the environment, and its licence
        layout.label(text=f"RIFE engine: {'ready' if rife['available'] else 'cannot run: ' + rife['problem']}",
                     icon="CHECKMARK" if rife["available"] else "ERROR")
        layout.label(text=rife["licence"])
    model = report.get("model", {})
    if model:
        found = f"found, {model['size_gib']} GiB" if model.get("found") else "not found"
        layout.label(text=f"Model {model.get('model', '')}: {found}", icon="CHECKMARK" if model.get("found") else "ERROR")
