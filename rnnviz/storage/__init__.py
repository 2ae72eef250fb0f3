"""Saved runs on disk: checkpoints (safetensors + meta.json), zip archives, exported code, saved
runs compared and scored."""
