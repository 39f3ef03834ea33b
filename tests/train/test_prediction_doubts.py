"""predict's doubts: a low top probability and the picture's ink warnings, in words."""

from __future__ import annotations

import numpy as np

from tinygrad_digits.data.images import DigitCleanup
from tinygrad_digits.training.prediction import doubts


def test_low_confidence_names_the_two_best_guesses():
    labels = [str(k) for k in range(10)]
    probs = np.full(10, 0.05)
    probs[[3, 8]] = [0.35, 0.25]
    found = doubts(probs, DigitCleanup(np.zeros((8, 8)), warnings=["faint ink"]), labels)
    assert found[0] == "faint ink"
    assert "low confidence: 35% for 3, 25% for 8" in found[1]


def test_a_confident_clean_answer_has_no_doubts():
    probs = np.zeros(10)
    probs[7] = 1.0
    assert doubts(probs, DigitCleanup(np.zeros((8, 8))), [str(k) for k in range(10)]) == []
