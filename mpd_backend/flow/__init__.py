"""The weight-free engine: optical flow between keys, the engine that runs it for a job, and
retiming a clip to the timeline's frames. OpenCV and numpy, no torch."""
