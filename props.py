"""The add-on's properties: per-scene settings (saved in the .blend) and the running job's state
(on the window manager, never saved)."""

import bpy
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from .core.states import EnvState, JobState, ModelState, ShotStatus, WorkerState, enum_items
from .core.takes import MAX_VARIANTS
from .mpd_backend.contract.sampler_table import DEFAULT_SAMPLER, SAMPLER_TABLE, sampler_info

SOURCES = (
    ("SCENE", "3D Scene", "Render the keys with the scene camera and render settings: every key of the active object "
     "in range (Chain Through Keys), else frames A and B"),
    ("STRIPS", "Storyboard Strips", "The source images of the selected image strips in the sequencer: two or more, the gaps "
     "between them filled as one chain"),
    ("FILES", "Image Files", "Two image files, placed at frames A and B"),
)
SAMPLER_ITEMS = tuple((info.name, info.label, info.describe()) for info in SAMPLER_TABLE)  # the contract's table
ENGINE_ITEMS = (  # the preferences' Engine; the panel's adds "the preferences' one"
    ("auto", "Auto", "SVD-XT when its weights are found locally, else RIFE, else the flow engine"),
    ("svd", "SVD-XT", "The video diffusion model (downloads the weights when online access allows)"),
    ("rife", "RIFE", "RIFE v4, a learned frame interpolator (MIT): small weights installed with the backend, "
                     "fast on a GPU; ignores sampler, seed and steps"),
    ("flow", "Flow", "Optical flow between the keyframes: no model weights, fast on a CPU; ignores sampler, seed and steps"),
)
RIFE_SCALE_ITEMS = (
    ("AUTO", "Auto", "Full resolution up to 1440p, half above (4K)"),
    ("1.0", "Full", "RIFE finds its flows at the frames' own resolution"),
    ("0.5", "Half", "Flows at half resolution: for 4K frames, faster and steadier on large moves"),
    ("0.25", "Quarter", "Flows at a quarter of the resolution: for 8K frames"),
)
FROM_PREFERENCES = "PREFERENCES"
MOTION_NAMES = ("motion_bucket_id", "noise_aug_strength", "fps")


def reset_motion(settings) -> None:
    """The motion settings back to the chosen sampler's defaults."""
    for name, value in sampler_info(settings.sampler).motion_defaults().items():
        setattr(settings, name, value)


def _motion_follows_sampler(settings, _context) -> None:
    if not settings.custom_motion:  # the values are the sampler's until the user takes them over
        reset_motion(settings)


def _custom_motion_starts_from_defaults(settings, _context) -> None:
    reset_motion(settings)  # turned on: from the chosen sampler's values, whatever an older file held


class MPD_PG_settings(bpy.types.PropertyGroup):
    source: EnumProperty(name="Keyframes From", items=SOURCES, default="SCENE")
    frame_a: IntProperty(name="Frame A", description="The first keyframe; the strip starts here", default=1)
    frame_b: IntProperty(name="Frame B", description="The last keyframe; the strip ends here", default=25)
    chain: BoolProperty(
        name="Chain Through Keys",
        description="3D Scene: every key of the active object inside the preview range (else the scene range) is a key "
                    "of one strip, exact at each; off: frames A and B only",
        default=True,
    )
    start_image: StringProperty(name="Start Image", subtype="FILE_PATH")
    end_image: StringProperty(name="End Image", subtype="FILE_PATH")
    shot_name: StringProperty(name="Shot", description="Names the strip and the job folder; empty: from the frames")
    engine: EnumProperty(
        name="Engine",
        items=((FROM_PREFERENCES, "From Preferences", "The Engine set in the add-on's preferences"), *ENGINE_ITEMS),
        default=FROM_PREFERENCES,
    )
    sampler: EnumProperty(name="Sampler", items=SAMPLER_ITEMS, default=DEFAULT_SAMPLER, update=_motion_follows_sampler)
    seed: IntProperty(name="Seed", description="The first take's seed; further takes use the next seeds", default=0, min=0)
    random_seed: BoolProperty(name="Random Seed", description="Draw a new seed for every take (recorded on its strip)")
    variants: IntProperty(
        name="Variants",
        description="Takes to make with different seeds, from one capture of the keys: strips of one span, the newest "
                    "playing (Next Take, Keep This Take)",
        default=1, min=1, max=MAX_VARIANTS,
    )
    custom_motion: BoolProperty(
        name="Custom Motion",
        description="Set SVD's motion conditioning yourself; off: the sampler's defaults",
        update=_custom_motion_starts_from_defaults,
    )
    motion_bucket_id: IntProperty(name="Motion Amount", description="SVD's motion bucket: more motion higher",
                                  default=127, min=0, max=255)
    noise_aug_strength: FloatProperty(
        name="Noise Augmentation", description="Noise added to the keys' conditioning: higher strays further from them",
        default=0.02, min=0.0, max=1.0, precision=3, step=1,
    )
    fps: IntProperty(name="FPS Conditioning", description="The frame rate SVD is told the clip has", default=9, min=1, max=60)
    rife_scale: EnumProperty(name="RIFE Scale", description="The resolution RIFE finds its flows at", items=RIFE_SCALE_ITEMS,
                             default="AUTO")
    steps: IntProperty(name="Steps", description="Denoising steps; 0: the sampler's default", default=0, min=0, max=200)
    width: IntProperty(name="Width", description="Generation width, multiple of 64; 0: near 1024 at the frame's aspect", default=0, min=0, step=64)
    height: IntProperty(name="Height", description="Generation height, multiple of 64; 0: near 576 at the frame's aspect", default=0, min=0, step=64)
    quick_capture: BoolProperty(
        name="Quick Capture",
        description="Render the 3D scene's keys faster for previs: at a lower resolution and sample count, or with "
                    "Workbench (the strip still fills the scene's frame)",
    )
    capture_percentage: IntProperty(name="Resolution", description="The keys' size, as a percentage of the scene's render size",
                                    default=50, min=1, max=100, subtype="PERCENTAGE")
    capture_samples: IntProperty(name="Max Samples", description="At most this many render samples per key (Cycles, EEVEE); 0: the scene's",
                                 default=16, min=0)
    capture_workbench: BoolProperty(name="Workbench", description="Render the keys with Workbench (solid shading): the fastest")
    markers_per_shot: BoolProperty(
        name="One Strip per Shot",
        description="Generate over Markers: a separate strip for each gap between consecutive markers, instead of one chain "
                    "through them all",
    )


class MPD_PG_shot(bpy.types.PropertyGroup):
    """One shot of a batch, for the panel (name: the shot)."""

    frames: StringProperty(name="Frames")
    status: EnumProperty(name="Status", items=enum_items(ShotStatus), default=ShotStatus.QUEUED.value)
    reason: StringProperty(name="Reason")


class MPD_PG_job(bpy.types.PropertyGroup):
    """The running generation (one shot or a batch), and the last one's result."""

    state: EnumProperty(name="State", items=enum_items(JobState), default=JobState.IDLE.value)
    phase: StringProperty(name="Phase")
    progress: FloatProperty(name="Progress", min=0.0, max=1.0, subtype="FACTOR")
    message: StringProperty(name="Message")
    hint: StringProperty(name="Hint")
    folder: StringProperty(name="Job Folder", subtype="DIR_PATH")
    strip_name: StringProperty(name="Strip")
    log: StringProperty(name="Worker Log", description="A batch's worker events, as JSON lines", subtype="FILE_PATH")
    shots: CollectionProperty(type=MPD_PG_shot)
    preview: StringProperty(name="Live Preview", description="The running job's latest preview image", subtype="FILE_PATH")
    preview_step: IntProperty(name="Preview Step")
    timing: StringProperty(name="Timing", description="Time so far and still to go")


class MPD_PG_worker(bpy.types.PropertyGroup):
    """The persistent backend worker, as last seen."""

    state: EnumProperty(name="Backend", items=enum_items(WorkerState), default=WorkerState.STOPPED.value)
    message: StringProperty(name="Message")


class MPD_PG_env(bpy.types.PropertyGroup):
    """The managed backend environment and the model download, as last seen."""

    state: EnumProperty(name="State", items=enum_items(EnvState), default=EnvState.NOT_INSTALLED.value)
    message: StringProperty(name="Message")
    hint: StringProperty(name="Hint")
    progress: FloatProperty(name="Progress", min=0.0, max=1.0, subtype="FACTOR")
    log_line: StringProperty(name="Log")
    calibration: StringProperty(name="Calibration", description="The last calibration's result, or why it failed")
    report: StringProperty(name="Doctor's Report", description="JSON")
    model_state: EnumProperty(name="Model Download", items=enum_items(ModelState), default=ModelState.IDLE.value)
    model_message: StringProperty(name="Model Message")
    model_progress: FloatProperty(name="Model Progress", min=0.0, max=1.0, subtype="FACTOR")
    login_message: StringProperty(name="Hugging Face Log-in", description="Where the token was saved, or why not")


classes = (MPD_PG_settings, MPD_PG_shot, MPD_PG_job, MPD_PG_worker, MPD_PG_env)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.mpd_inbetween = PointerProperty(type=MPD_PG_settings)
    bpy.types.WindowManager.mpd_job = PointerProperty(type=MPD_PG_job)
    bpy.types.WindowManager.mpd_worker = PointerProperty(type=MPD_PG_worker)
    bpy.types.WindowManager.mpd_env = PointerProperty(type=MPD_PG_env)


def unregister():
    del bpy.types.WindowManager.mpd_env
    del bpy.types.WindowManager.mpd_worker
    del bpy.types.WindowManager.mpd_job
    del bpy.types.Scene.mpd_inbetween
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
