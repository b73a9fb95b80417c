"""The RIFE engine: a learned frame interpolator (RIFE v4, Practical-RIFE's IFNet) between keys."""
