"""The Train tab: run form, TrainThread, live display, controls, run watching, and the live-model
hand-off to the other tabs.
"""
