"""A run of main.py: exit statuses (exits), options, the per-image stage (image_stage, called by the
serial run, the pipeline and the Ray actors), the host-work clock (host_clock), the output folder
(run_folder), the pipeline of host processes (pipeline), Ray (ray_runner), the sanity pass
(sanity_pass), merging shards (merge) and the whole run (runner)."""
