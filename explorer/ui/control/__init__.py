"""The Control tab: direction sliders, the source bar, examples, sweeps, cosine table."""
