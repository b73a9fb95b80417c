"""The backend's contract with its callers, standard library only: the only part of the backend
that the Blender add-on imports (``tests/core/test_structure.py`` holds both rules).

- ``job_request``: what a job is asked to do (``job.json``), validated; ``sampler_table``: the
  samplers' vocabulary; ``chain_plan``: how a chain of keys is laid out in windows;
- ``job_folder``: a job folder's files, its request and its manifest; ``farm_batch``: a batch of
  job folders for a farm; ``json_files``: the one atomic JSON writer;
- ``protocol``: the wire (typed events out, typed commands in); ``errors``: what the user can fix,
  with a hint;
- ``pricing``: a job's time and memory before it runs; ``model_folder``: whether a model folder is
  usable and whether the model is on this machine.
"""
