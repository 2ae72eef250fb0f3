"""Serving a class: who owns a tab's work, and a run's settings as the text of a link."""
