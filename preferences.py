"""Add-on preferences: where the backend runs and where job folders go."""

import platform
import shutil

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from .mpd_backend.contract.job_request import DEFAULT_MODEL_ID
from .props import ENGINE_ITEMS


def likely_accelerator() -> str:
    """A first guess for the environment's torch build: Apple MPS on a Mac, CUDA where an NVIDIA
    driver is installed, else the CPU."""
    if platform.system() == "Darwin":
        return "mps"
    return "cuda" if shutil.which("nvidia-smi") else "cpu"


class MPD_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    accelerator: EnumProperty(
        name="Accelerator",
        description="Which torch build the managed environment installs",
        items=(("cuda", "NVIDIA CUDA", ""), ("mps", "Apple MPS", ""), ("cpu", "CPU only", "")),
        default=likely_accelerator(),
    )
    env_folder: StringProperty(
        name="Environment Folder",
        description="Where the managed environment goes (several GB); empty: the extension's user folder",
        subtype="DIR_PATH",
    )
    offline: BoolProperty(name="Offline", description="Never download anything, even when online access is allowed")
    backend_python: StringProperty(
        name="Backend Python",
        description="Your own environment's Python (with the backend's requirements); empty: the managed "
        "environment, else $MPD_BACKEND_PYTHON",
        subtype="FILE_PATH",
    )
    engine: EnumProperty(
        name="Engine", description="The engine of every job whose panel leaves the Engine to the preferences",
        items=ENGINE_ITEMS, default="auto",
    )
    model: StringProperty(
        name="Model", description="Hugging Face id or local diffusers folder", default=DEFAULT_MODEL_ID
    )
    device: EnumProperty(
        name="Device",
        items=(("auto", "Auto", "CUDA, then Apple MPS, then CPU"), ("cuda", "CUDA", ""), ("mps", "Apple MPS", ""), ("cpu", "CPU", "")),
        default="auto",
    )
    dtype: EnumProperty(
        name="Precision",
        items=(("auto", "Auto", "fp16 on CUDA, bf16 on CPUs with native bf16, fp32 elsewhere"), ("float16", "fp16", ""), ("bfloat16", "bf16", ""), ("float32", "fp32", "")),
        default="auto",
    )
    low_vram: BoolProperty(
        name="Low VRAM",
        description="Model CPU offload, feed-forward chunking and 2-frame decode chunks, so 1024x576 fits a 12 GB GPU "
        "(slower). Off: the backend turns it on by itself for GPUs under 16 GB",
    )
    worker_idle_minutes: IntProperty(
        name="Free Backend After",
        description="Minutes without a job after which the backend worker exits and frees its memory; 0: never",
        default=10, min=0, max=24 * 60,
    )
    cancel_grace_s: FloatProperty(
        name="Cancel Timeout",
        description="How long a cancelled job may take to stop at its next step before the backend worker is ended "
        "(its model then loads again for the next job)",
        default=10.0, min=0.5, max=600.0, unit="TIME_ABSOLUTE",
    )
    output_dir: StringProperty(
        name="Job Folders",
        description="Where job folders go; // is next to the .blend (unsaved files use a temporary folder)",
        default="//inbetweens/",
        subtype="DIR_PATH",
    )

    def model_argument(self) -> str:
        """The model as the backend takes it: a ``//`` path made absolute."""
        return bpy.path.abspath(self.model) if self.model.startswith("//") else self.model

    def draw(self, context):
        from .panels.backend_settings import draw_preferences

        draw_preferences(self, self.layout)


def get(context=None):
    context = context or bpy.context
    return context.preferences.addons[__package__].preferences


classes = (MPD_AddonPreferences,)
register, unregister = bpy.utils.register_classes_factory(classes)
