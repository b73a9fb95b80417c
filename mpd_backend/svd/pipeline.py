"""``InbetweenPipeline``: SVD-XT inbetweening between a start and an end keyframe.

A subclass of diffusers' ``StableVideoDiffusionPipeline``, so ``from_pretrained``, ``.to()``, dtypes
and offload behave as diffusers users expect. The sampling loop lives in ``samplers.py``; this module
builds the denoiser ``denoise(x, i, keyframe) -> (x0_uncond, x0_cond)`` from the UNet (spec section 1)
and hands it to the chosen sampler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import PIL.Image
import torch
from diffusers import StableVideoDiffusionPipeline
from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import (
    StableVideoDiffusionPipelineOutput,
)
from diffusers.utils.torch_utils import randn_tensor

from .samplers import END, START, Sampler, get_sampler

KeyframeImage = PIL.Image.Image | torch.Tensor


@dataclass(frozen=True)
class CallSettings:
    """One call's settings, every default filled."""

    sampler: Sampler
    inner_keyframes: dict
    height: int
    width: int
    num_frames: int
    num_inference_steps: int
    fps: int
    motion_bucket_id: int
    noise_aug_strength: float
    decode_chunk_size: int
    device: torch.device


@dataclass(frozen=True)
class EncodedKeys:
    """The keys as the denoiser and the sampler take them."""

    conditions: dict  # START / END: (CLIP embeddings, VAE latents over the frames), CFG pairs
    added_time_ids: torch.Tensor
    z_start: torch.Tensor | None  # clean latent targets, for samplers with hard constraints
    z_end: torch.Tensor | None
    z_inner: dict  # {window frame: clean latent} of a chain's inner keys


class InbetweenPipeline(StableVideoDiffusionPipeline):
    r"""Generate the frames between two keyframes with Stable Video Diffusion and a time-reversal
    sampler (default: Motion Prior Distillation).

    Components are those of [`StableVideoDiffusionPipeline`]; load SVD-XT with
    ``InbetweenPipeline.from_pretrained("stabilityai/stable-video-diffusion-img2vid-xt")``.
    """

    def _condition(self, image: KeyframeImage, pixels: torch.Tensor, aug_noise, device):
        """CFG-pair conditioning for one keyframe: CLIP embedding and noise-augmented VAE latent.
        ``pixels``: the keyframe preprocessed to the generation size."""
        embeddings = self._encode_image(image, device, 1, True)
        latents = self._encode_vae_image(pixels + aug_noise, device=device, num_videos_per_prompt=1, do_classifier_free_guidance=True)
        return embeddings, latents.to(embeddings.dtype)

    def _keyframe_target(self, pixels: torch.Tensor) -> torch.Tensor:
        """Clean keyframe latent ``z = mode(E(I)) * scaling_factor`` in float32 (the spec's DDS target)."""
        z = self.vae.encode(pixels.to(self.vae.dtype)).latent_dist.mode()
        return z.float() * self.vae.config.scaling_factor

    # Run both paths of a parallel step (trf, mpd-trf's late phase) as one UNet batch.
    batch_parallel_paths = True
    # The most frames decoded at once, whatever the sampler's default (None: no limit).
    max_decode_chunk_size: int | None = None
    low_vram_mode = False

    def enable_low_vram_mode(self, device: str = "cuda") -> None:
        """Fit 1024x576x25 on a 12 GB GPU: model CPU offload (only the running component on the
        GPU), feed-forward layers one frame at a time, two frames decoded at a time, and the two
        paths of a parallel step as two UNet calls. Slower: see docs/performance.md."""
        self.low_vram_mode = True
        self.enable_model_cpu_offload(device=device)
        self.unet.enable_forward_chunking()
        self.batch_parallel_paths = False
        self.max_decode_chunk_size = 2

    def _make_denoiser(self, conditions, added_time_ids, sigmas, timesteps):
        """``denoise(x, i, keyframe) -> (x0_uncond, x0_cond)``: one UNet call on the CFG pair;
        ``denoise.pair(x_fwd, x_bwd, i)``: both paths' CFG pairs in one UNet call."""
        unet_dtype = self.unet.dtype

        def unet_x0(inputs, i):
            """x0 for each (x, keyframe) in ``inputs``, as (uncond, cond) pairs, from one UNet call."""
            sigma = float(sigmas[i])
            x_in = torch.cat([torch.cat([x, x]) for x, _ in inputs]) / (sigma**2 + 1) ** 0.5
            image_latents = torch.cat([conditions[key][1] for _, key in inputs])
            embeddings = torch.cat([conditions[key][0] for _, key in inputs])
            v = self.unet(
                torch.cat([x_in.to(unet_dtype), image_latents], dim=2), timesteps[i], encoder_hidden_states=embeddings,
                added_time_ids=added_time_ids.repeat(len(inputs), 1), return_dict=False,
            )[0].float()
            c_out, c_skip = -sigma / (sigma**2 + 1) ** 0.5, 1 / (sigma**2 + 1)
            pairs = []
            for (x, _), v_pair in zip(inputs, v.chunk(len(inputs))):
                v_uncond, v_cond = v_pair.chunk(2)
                pairs.append((v_uncond * c_out + x * c_skip, v_cond * c_out + x * c_skip))
            return pairs

        def denoise(x: torch.Tensor, i: int, keyframe: str):
            return unet_x0([(x, keyframe)], i)[0]

        if self.batch_parallel_paths and END in conditions:
            denoise.pair = lambda x_fwd, x_bwd, i: tuple(unet_x0([(x_fwd, START), (x_bwd, END)], i))
        return denoise

    @torch.no_grad()
    def __call__(
        self, start_image: KeyframeImage, end_image: KeyframeImage | None = None, *,
        inner_keyframes: dict[int, KeyframeImage] | None = None, sampler: str | Sampler = "mpd",
        height: int = 576, width: int = 1024, num_frames: int | None = None, num_inference_steps: int | None = None,
        fps: int | None = None, motion_bucket_id: int | None = None, noise_aug_strength: float | None = None,
        decode_chunk_size: int | None = None, generator: torch.Generator | None = None, latents: torch.Tensor | None = None,
        output_type: str = "pil", callback_on_step_end: Callable | None = None, return_dict: bool = True,
    ):
        r"""Generate ``num_frames`` frames from ``start_image`` (frame 0) to ``end_image`` (last frame).

        Args:
            start_image, end_image (`PIL.Image.Image` or `torch.Tensor` in [0, 1]):
                The two keyframes. ``end_image`` may be omitted only for ``sampler="forward"``.
            inner_keyframes (`dict[int, PIL.Image.Image | torch.Tensor]`, *optional*):
                More keys of a chain, by the frame index they are exact at (1 to ``num_frames - 2``,
                at least one free frame between keys); only "mpd" and "vibid" take them. Every key
                is pinned in both paths and MPD anchors its backward estimate at each
                (``docs/spec/chains.md``). ``None``: the two-key samplers, unchanged.
            sampler (`str` or [`~mpd_backend.svd.samplers.Sampler`], defaults to `"mpd"`):
                "forward", "trf", "vibid", "mpd" or "mpd-trf", or a sampler object carrying its
                parameters, e.g. ``MPD(gamma=0.3, iterations=2)``.
            height, width (`int`, defaults to 576 and 1024): generation size, multiples of 8.
            num_frames (`int`, *optional*): defaults to the UNet's configured count (25 for SVD-XT).
            num_inference_steps (`int`, *optional*): defaults to the sampler's (50 for trf, else 25).
            fps (`int`, *optional*): the fps conditioning (diffusers' convention, the UNet sees fps-1);
                defaults to the sampler's (9 for mpd and mpd-trf, else 7).
            motion_bucket_id (`int`, *optional*), noise_aug_strength (`float`, *optional*): SVD's
                micro-conditioning; default to the sampler's (127 and 0.02 for every sampler).
            decode_chunk_size (`int`, *optional*): frames decoded at once; defaults to the sampler's
                (all frames for forward, 8 for trf, else 4), at most 2 in low-VRAM mode.
            generator (`torch.Generator`, *optional*): every random draw (initial latents,
                augmentation noise, re-noise) comes from it, so a seed reproduces a result exactly.
            latents (`torch.Tensor`, *optional*): replaces the initial draw, ``[1, T, 4, h, w]``,
                scaled by the scheduler's initial sigma as in diffusers.
            output_type (`str`, defaults to `"pil"`): "pil", "np", "pt" or "latent" (final latents
                ``[1, T, 4, h, w]``).
            callback_on_step_end (`Callable`, *optional*): ``callback(pipe, i, t, {"latents": x,
                "denoised": x0})`` after every denoising step, ``x0`` being the step's guided clean
                estimate ``[1, T, 4, h, w]`` (what a live preview shows); returning
                ``{"latents": ...}`` replaces the latents.
            return_dict (`bool`, defaults to `True`): return a ``StableVideoDiffusionPipelineOutput``
                rather than a tuple.

        Returns:
            `StableVideoDiffusionPipelineOutput` with ``frames`` ``[1, T, ...]``.
        """
        # 1. Check the inputs and fill every default from the sampler
        run = self._resolve_call(start_image, end_image, inner_keyframes or {}, sampler, height, width, num_frames,
                                 num_inference_steps, fps, motion_bucket_id, noise_aug_strength, decode_chunk_size)
        # 2. Encode the keys: CLIP embeddings and noise-augmented latents (the conditions), clean targets
        keys = self._encode_keys(start_image, end_image, run, generator)
        # 3. Sample the latents with the sampler, from the scheduler's sigmas
        x = self._sample(run, keys, generator, latents, callback_on_step_end)
        # 4. Decode
        frames = x if output_type == "latent" else self._decode(x, run, output_type)
        self.maybe_free_model_hooks()
        if not return_dict:
            return (frames,)
        return StableVideoDiffusionPipelineOutput(frames=frames)

    def _resolve_call(self, start_image, end_image, inner_keyframes: dict, sampler, height, width, num_frames, steps, fps,
                      motion_bucket_id, noise_aug_strength, decode_chunk_size) -> CallSettings:
        """Check the keys and fill every None from the sampler's defaults and the UNet's frame count."""
        sampler = get_sampler(sampler)
        if end_image is None and sampler.uses_end_keyframe:
            raise ValueError(f"sampler {sampler.name!r} needs an end_image")
        if inner_keyframes and not sampler.takes_chains:
            raise ValueError(f"sampler {sampler.name!r} takes only two keyframes; use 'mpd' or 'vibid' for inner_keyframes")
        for image in (start_image, end_image, *inner_keyframes.values()):
            if image is not None:
                self.check_inputs(image, height, width)
        num_frames = num_frames if num_frames is not None else self.unet.config.num_frames
        indices = sorted(inner_keyframes)
        if indices and (indices[0] < 2 or indices[-1] > num_frames - 3 or any(b - a < 2 for a, b in zip(indices, indices[1:]))):
            raise ValueError(f"inner keyframe indices {indices} must lie in 2..{num_frames - 3} with a free frame between keys")
        if not decode_chunk_size:
            decode_chunk_size = min(sampler.default_decode_chunk_size or num_frames, self.max_decode_chunk_size or num_frames)
        self._guidance_scale = 3.0  # diffusers' do_classifier_free_guidance reads this; CFG is always on
        return CallSettings(
            sampler, dict(inner_keyframes), height, width, num_frames, steps or sampler.default_steps,
            fps if fps is not None else sampler.default_fps,
            motion_bucket_id if motion_bucket_id is not None else sampler.default_motion_bucket_id,
            noise_aug_strength if noise_aug_strength is not None else sampler.default_noise_aug_strength,
            decode_chunk_size, self._execution_device,
        )

    def _encode_keys(self, start_image, end_image, run: CallSettings, generator) -> EncodedKeys:
        """The keys' conditions (CFG pairs, repeated over the frames), their clean latent targets
        and the micro-conditioning. Random draws in diffusers' order (augmentation noise here, the
        latents after), so that ``forward`` matches diffusers."""
        sampler, device = run.sampler, run.device
        aug_shape = (1, 3, run.height, run.width)
        aug_start = run.noise_aug_strength * randn_tensor(aug_shape, generator=generator, device=device)
        aug_end = aug_start
        if sampler.uses_end_keyframe and sampler.independent_augmentation_noise:
            aug_end = run.noise_aug_strength * randn_tensor(aug_shape, generator=generator, device=device)
        keyframes = {START: (start_image, aug_start)}
        if sampler.uses_end_keyframe:
            keyframes[END] = (end_image, aug_end)
        needs_upcasting = self.vae.dtype == torch.float16 and self.vae.config.force_upcast
        if needs_upcasting:
            self.vae.to(dtype=torch.float32)
        pixels = {key: self._pixels(image, run) for key, (image, _) in keyframes.items()}
        conditions = {key: self._condition(image, pixels[key], aug, device) for key, (image, aug) in keyframes.items()}
        targets = {}
        if sampler.uses_keyframe_targets:
            targets = {key: self._keyframe_target(pixels[key]) for key in (START, END)}
            targets.update({k: self._keyframe_target(self._pixels(image, run)) for k, image in run.inner_keyframes.items()})
        if needs_upcasting:
            self.vae.to(dtype=torch.float16)
        conditions = {key: (emb, lat.unsqueeze(1).repeat(1, run.num_frames, 1, 1, 1)) for key, (emb, lat) in conditions.items()}
        added_time_ids = self._get_add_time_ids(
            run.fps - 1, run.motion_bucket_id, run.noise_aug_strength, conditions[START][0].dtype, 1, 1, True
        ).to(device)
        return EncodedKeys(conditions, added_time_ids, targets.pop(START, None), targets.pop(END, None), targets)

    def _pixels(self, image: KeyframeImage, run: CallSettings) -> torch.Tensor:
        return self.video_processor.preprocess(image, height=run.height, width=run.width).to(run.device)

    def _sample(self, run: CallSettings, keys: EncodedKeys, generator, latents, callback_on_step_end) -> torch.Tensor:
        """The initial latents (drawn, or the caller's) sampled down the schedule by the sampler."""
        device = run.device
        self.scheduler.set_timesteps(run.num_inference_steps, device=device)
        sigmas, timesteps = self.scheduler.sigmas, self.scheduler.timesteps
        x = self.prepare_latents(
            1, run.num_frames, self.unet.config.in_channels, run.height, run.width, torch.float32, device, generator, latents
        )
        self._num_timesteps = run.num_inference_steps

        def noise_like(t: torch.Tensor) -> torch.Tensor:
            return randn_tensor(t.shape, generator=generator, device=t.device, dtype=t.dtype)

        denoise = self._make_denoiser(keys.conditions, keys.added_time_ids, sigmas, timesteps)
        with self.progress_bar(total=run.sampler.denoising_steps(run.num_inference_steps)) as progress_bar:

            def on_step(info: dict):
                progress_bar.update()
                if callback_on_step_end is None:
                    return None
                i = info["i"]
                outputs = callback_on_step_end(self, i, timesteps[i], {"latents": info["x"], "denoised": info["denoised"]})
                return (outputs or {}).get("latents")

            return run.sampler.sample(denoise, x, sigmas, z_start=keys.z_start, z_end=keys.z_end, noise_like=noise_like,
                                      z_inner=keys.z_inner or None, callback=on_step)

    def _decode(self, x: torch.Tensor, run: CallSettings, output_type: str):
        frames = self.decode_latents(x.to(self.vae.dtype), run.num_frames, run.decode_chunk_size)
        return self.video_processor.postprocess_video(video=frames, output_type=output_type)
