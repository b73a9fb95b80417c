"""SVD-XT: the diffusers pipeline, the time-reversal samplers, safe loading, the engine that runs
them for a job, the live preview and the calibration of this machine's speed. Imports torch."""
