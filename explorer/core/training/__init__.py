"""The explorer's side of a training run: the phase state machine and the preview time-lapse."""
