"""Figures: pure functions from data to plotly figures; the only place that imports plotly."""
