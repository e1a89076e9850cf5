"""Widgets shared by several views: sample and image grids, the loss plot, small helpers."""
