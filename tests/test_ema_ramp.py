"""The moving average's ramp-up: a young run averages over a short, recent window."""

import pytest

from trainer.gan import EMA_RAMPUP, ema_decay_at


def test_the_first_step_copies_the_weights():
    assert ema_decay_at(0, 0.999) == 0.0


def test_the_horizon_is_a_fixed_share_of_the_steps_taken_until_the_configured_decay():
    for step in (100, 1700, 5000):
        horizon = 1 / (1 - ema_decay_at(step, 0.999))
        assert horizon == pytest.approx(1 + EMA_RAMPUP * step)
    assert ema_decay_at(50_000, 0.999) == 0.999
    assert ema_decay_at(50_000, 0.9) == 0.9


def test_the_decay_never_falls_as_the_run_goes_on():
    values = [ema_decay_at(s, 0.999) for s in range(0, 30_000, 37)]
    assert values == sorted(values)
