"""Load an ``InbetweenPipeline`` from a Hugging Face id or a local diffusers folder.

safetensors only (a folder with only pickle weights is refused), no remote code, and a download
only when ``offline`` is False. Device ``auto`` picks cuda, then mps, then cpu; dtype ``auto`` is
fp16 on CUDA, bf16 on CPUs with native bf16 (AVX512-BF16 or AMX; emulated bf16 is slower than fp32,
docs/performance.md), fp32 elsewhere. Low-VRAM mode (``offload``) is on by default for CUDA GPUs
under ``LOW_VRAM_GIB``.
"""

from __future__ import annotations

from pathlib import Path

from ..contract.errors import BackendError, explain_exception
from ..contract.job_request import DEFAULT_MODEL_ID, DEVICES, DTYPES
from ..contract.model_folder import WEIGHT_COMPONENTS, check_model_folder, looks_like_path
from ..contract.protocol import ErrorCode

LOW_VRAM_GIB = 16  # below this, 1024x576x25 needs low-VRAM mode (docs/performance.md)


def resolve_device(device: str = "auto") -> str:
    import torch

    if device not in DEVICES:
        raise BackendError(ErrorCode.DEVICE, f"Unknown device {device!r}.", "use one of: " + ", ".join(DEVICES), exit_code=2)
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise BackendError(ErrorCode.DEVICE, "CUDA was asked for but no CUDA GPU is usable.", "use {device_cpu}, or install a CUDA build of torch")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise BackendError(ErrorCode.DEVICE, "MPS was asked for but is not available.", "use {device_cpu}")
    return device


def resolve_dtype(dtype: str, device: str):
    import torch

    if dtype not in DTYPES:
        raise BackendError(ErrorCode.BAD_INPUT, f"Unknown dtype {dtype!r}.", "use one of: " + ", ".join(DTYPES), exit_code=2)
    if dtype == "auto":
        dtype = "float16" if device == "cuda" else "bfloat16" if device == "cpu" and cpu_has_native_bf16() else "float32"
    return getattr(torch, dtype)


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 natively here (AVX512-BF16 or AMX); emulated bf16 is slower than fp32."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a private torch helper: absent means "do not assume"
        return False


def wants_low_vram(device: str) -> bool:
    """Low-VRAM mode by default: a CUDA GPU with less than ``LOW_VRAM_GIB`` of memory."""
    import torch

    return device == "cuda" and torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory < LOW_VRAM_GIB * 2**30


def model_cache_folder(model_id: str, token: str | None, offline: bool, fp16_variant: bool, tqdm_class=None) -> Path:
    """The local snapshot of a hub model, downloaded (configs and safetensors only) unless offline."""
    from huggingface_hub import snapshot_download

    weights = "*.fp16.safetensors" if fp16_variant else "*.safetensors"
    return Path(
        snapshot_download(
            model_id,
            allow_patterns=["model_index.json", "*.json", "*.txt", weights],
            token=token,
            local_files_only=offline,
            tqdm_class=tqdm_class,
        )
    )


def find_model(model: str = DEFAULT_MODEL_ID, *, token=None, offline=False, fp16_variant=False) -> Path:
    """The local folder holding ``model``: the folder itself, or the hub snapshot (checked)."""
    if looks_like_path(model):
        folder = Path(model).expanduser()
    else:
        try:
            folder = model_cache_folder(model, token or None, offline, fp16_variant)  # None: HF_TOKEN or the login cache
        except Exception as exc:  # the hub's exceptions, translated into one clear message
            raise explain_exception(exc) from exc
    check_model_folder(folder)
    return folder


def _has_fp16_variant(folder: Path) -> bool:
    return all(any(p.name.endswith(".fp16.safetensors") for p in (folder / c).iterdir()) for c in WEIGHT_COMPONENTS)


def load_pipeline(
    model: str = DEFAULT_MODEL_ID,
    *,
    device: str = "auto",
    dtype: str = "auto",
    offload: bool | None = None,
    token: str | None = None,
    offline: bool = False,
):
    """An ``InbetweenPipeline`` ready on its device.

    Args:
        model: Hugging Face id (default SVD-XT; gated: needs a token on first download) or a local
            diffusers folder.
        device: "auto" (cuda, then mps, then cpu), "cuda", "mps" or "cpu".
        dtype: "auto" (fp16 on CUDA, bf16 on CPUs with native bf16, else fp32), "float16",
            "bfloat16" or "float32".
        offload: low-VRAM mode (``InbetweenPipeline.enable_low_vram_mode``; ignored without an
            accelerator); None: on for CUDA GPUs under ``LOW_VRAM_GIB``.
        token: Hugging Face token; defaults to HF_TOKEN or the login cache.
        offline: never download; use a local folder or the cache.
    """
    import torch

    from .pipeline import InbetweenPipeline

    device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, device)
    folder = find_model(model, token=token, offline=offline, fp16_variant=torch_dtype == torch.float16)
    variant = "fp16" if torch_dtype == torch.float16 and _has_fp16_variant(folder) else None
    try:
        pipe = InbetweenPipeline.from_pretrained(folder, dtype=torch_dtype, use_safetensors=True, variant=variant)
        if offload is None:
            offload = wants_low_vram(device)
        if offload and device != "cpu":  # enable_model_cpu_offload raises without an accelerator
            pipe.enable_low_vram_mode(device)
        else:
            pipe.to(device)
    except Exception as exc:
        raise explain_exception(exc) from exc
    return pipe

