"""The add-on's operators, one per module, registered in this order and unregistered in reverse."""

import bpy

from .calibrate import MPD_OT_calibrate
from .camera_background import MPD_OT_camera_background
from .cancel import MPD_OT_cancel
from .env_cancel import MPD_OT_env_cancel
from .env_install import MPD_OT_env_install
from .env_refresh import MPD_OT_env_refresh
from .export_batch import MPD_OT_export_batch
from .export_movie import MPD_OT_export_movie
from .generate import MPD_OT_generate
from .generate_markers import MPD_OT_generate_markers
from .hf_login import MPD_OT_hf_login
from .import_batch import MPD_OT_import_batch
from .import_job import MPD_OT_import_job
from .keyframes_from_files import MPD_OT_keyframes_from_files
from .keyframes_from_scene import MPD_OT_keyframes_from_scene
from .keyframes_from_strips import MPD_OT_keyframes_from_strips
from .model_download import MPD_OT_model_download
from .motion_reset import MPD_OT_motion_reset
from .release_backend import MPD_OT_release_backend
from .rerun import MPD_OT_rerun
from .status_report import MPD_OT_report
from .take_keep import MPD_OT_take_keep
from .take_step import MPD_OT_take_step

classes = (
    MPD_OT_report,
    MPD_OT_keyframes_from_scene,
    MPD_OT_keyframes_from_strips,
    MPD_OT_keyframes_from_files,
    MPD_OT_import_job,
    MPD_OT_import_batch,
    MPD_OT_generate,
    MPD_OT_rerun,
    MPD_OT_take_step,
    MPD_OT_take_keep,
    MPD_OT_camera_background,
    MPD_OT_export_movie,
    MPD_OT_motion_reset,
    MPD_OT_generate_markers,
    MPD_OT_export_batch,
    MPD_OT_cancel,
    MPD_OT_release_backend,
    MPD_OT_env_install,
    MPD_OT_env_cancel,
    MPD_OT_env_refresh,
    MPD_OT_model_download,
    MPD_OT_hf_login,
    MPD_OT_calibrate,
)

register, unregister = bpy.utils.register_classes_factory(classes)  # unregisters in reverse
