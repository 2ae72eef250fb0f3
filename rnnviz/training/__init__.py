"""Training one run: its settings, the trainer and its optimisation step, typed events, control
from outside, probes, presets and the run record."""
