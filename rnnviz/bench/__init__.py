"""The speed benchmark: the seeds' training loop against rnnviz's trainer."""
