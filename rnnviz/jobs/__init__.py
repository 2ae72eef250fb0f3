"""Running work in the background: the job manager and its queue, the thread and Ray backends,
snapshots, presence, runs and races as jobs."""
