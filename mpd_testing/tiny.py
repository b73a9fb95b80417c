"""A tiny, randomly initialised SVD for tests and the weightless demo.

The architecture is diffusers' own SVD fast-test configuration, with two changes: the CLIP vision
tower takes 224x224 input (``_encode_image`` resizes every PIL image to 224x224; patch 32 keeps it
cheap), and the VAE has three blocks so latents sit at 1/4 of the image size (a 4x cheaper UNet).
Its frames are noise: it has never been trained.
"""

from __future__ import annotations

from pathlib import Path

TINY_NUM_FRAMES = 8

# The scheduler configuration shipped with stabilityai/stable-video-diffusion-img2vid-xt.
SVD_XT_SCHEDULER_CONFIG = dict(
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    interpolation_type="linear",
    num_train_timesteps=1000,
    prediction_type="v_prediction",
    sigma_max=700.0,
    sigma_min=0.002,
    steps_offset=1,
    timestep_spacing="leading",
    timestep_type="continuous",
    trained_betas=None,
    use_karras_sigmas=True,
)


def build_tiny_svd_components(seed: int = 0, num_frames: int = TINY_NUM_FRAMES) -> dict:
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    try:  # transformers 5 without torchvision; the plain name warns and falls back to it
        from transformers import CLIPImageProcessorPil as CLIPImageProcessor
    except ImportError:
        from transformers import CLIPImageProcessor

    torch.manual_seed(seed)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=16,
        num_frames=num_frames,
        in_channels=8,
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=32,
        num_attention_heads=8,
        projection_class_embeddings_input_dim=96,
        addition_time_embed_dim=32,
    )
    torch.manual_seed(seed)
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=[32, 32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 3,
        latent_channels=4,
    )
    torch.manual_seed(seed)
    image_encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            projection_dim=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=224,
            intermediate_size=37,
            patch_size=32,
        )
    )
    feature_extractor = CLIPImageProcessor(crop_size=224, size=224)
    scheduler = EulerDiscreteScheduler(**SVD_XT_SCHEDULER_CONFIG)
    return dict(
        unet=unet, image_encoder=image_encoder, scheduler=scheduler, vae=vae, feature_extractor=feature_extractor
    )


def save_tiny_svd(path: str | Path, seed: int = 0, num_frames: int = TINY_NUM_FRAMES) -> Path:
    """Build the tiny SVD and save it as a diffusers folder (safetensors) at ``path``."""
    from diffusers import StableVideoDiffusionPipeline

    path = Path(path)
    StableVideoDiffusionPipeline(**build_tiny_svd_components(seed, num_frames)).save_pretrained(
        path, safe_serialization=True
    )
    return path
