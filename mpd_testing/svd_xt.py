"""The real SVD-XT architecture with random weights, for benchmarks.

Speed and memory do not depend on the weights' values, so a randomly initialised SVD-XT costs
exactly what the trained one does. It is built from the published model's configurations: the
UNet's are diffusers' default constructor arguments of ``UNetSpatioTemporalConditionModel``; the
VAE's are not the defaults of ``AutoencoderKLTemporalDecoder`` (one 64-channel block) but the four
blocks of the published ``vae/config.json``; the image encoder is CLIP ViT-H/14. Saved once as a
local safetensors folder and loaded through the same code users run.
"""

from __future__ import annotations

from pathlib import Path

from .tiny import SVD_XT_SCHEDULER_CONFIG

# vae/config.json of stabilityai/stable-video-diffusion-img2vid-xt (98 M parameters).
SVD_XT_VAE = dict(
    block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4, layers_per_block=2,
    latent_channels=4, sample_size=768, scaling_factor=0.18215, force_upcast=True,
)
# CLIP ViT-H/14 image encoder of stabilityai/stable-video-diffusion-img2vid-xt.
CLIP_VIT_H_14 = dict(
    hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16,
    patch_size=14, image_size=224, projection_dim=1024, hidden_act="gelu",
)


def build_svd_xt_components(seed: int = 0) -> dict:
    """SVD-XT's components with random weights."""
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    try:  # transformers 5 without torchvision
        from transformers import CLIPImageProcessorPil as CLIPImageProcessor
    except ImportError:
        from transformers import CLIPImageProcessor

    torch.manual_seed(seed)
    unet = UNetSpatioTemporalConditionModel()
    vae = AutoencoderKLTemporalDecoder(**SVD_XT_VAE)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_VIT_H_14))
    return dict(
        unet=unet, vae=vae, image_encoder=image_encoder,
        scheduler=EulerDiscreteScheduler(**SVD_XT_SCHEDULER_CONFIG),
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224),
    )


def save_random_svd_xt(path: str | Path, seed: int = 0, half: bool = True) -> Path:
    """Build SVD-XT with random weights and save it at ``path`` (fp16 safetensors by default,
    4.2 GiB; loading casts to the dtype asked for)."""
    import torch
    from diffusers import StableVideoDiffusionPipeline

    pipe = StableVideoDiffusionPipeline(**build_svd_xt_components(seed))
    if half:
        pipe.to(torch.float16)
    path = Path(path)
    pipe.save_pretrained(path, safe_serialization=True)
    return path
