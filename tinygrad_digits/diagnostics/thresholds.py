"""Every threshold the diagnostics use (viz's gradient health and the doctor's checks), named,
with why each value: one place to read, and to tune, what counts as unhealthy.

Gradients: one factor. viz and the doctor used to disagree on "vanishing" (1e-6 in viz,
1e-3 in the doctor), but they measure different things, so the fix is one factor applied to
two references, not one number. A gradient is unhealthy when it is GRADIENT_FACTOR (1000x)
off what a healthy network shows:
- the doctor compares each layer's grad/weight ratio with the output layer's, which is scale
  free, so the factor applies directly (VANISHING_RATIO, EXPLODING_RATIO);
- viz classifies the absolute L2 norm of every gradient tensor it drew. A mean loss makes
  activation gradients shrink as 1/sqrt(batch): the smallest norm in a healthy 64-128-64-10
  MLP over all 1797 digits is ~4e-3, and MNIST-sized batches bring it to ~1e-3
  (HEALTHY_NORM_FLOOR). Taking the doctor's 1e-3 as an absolute norm would flag healthy
  networks on large batches, so viz's bound is the factor below that floor: 1e-6.
"""

from __future__ import annotations

# --- gradients ---------------------------------------------------------------------------------
GRADIENT_FACTOR = 1e3  # 1000x off the reference: three orders of magnitude is no noise
HEALTHY_NORM_FLOOR = 1e-3  # smallest gradient norm a healthy network shows (see above)
VANISHING_NORM = HEALTHY_NORM_FLOOR / GRADIENT_FACTOR  # viz: an L2 norm below this vanishes
EXPLODING_NORM = GRADIENT_FACTOR  # viz: a norm 1000x a unit-scale gradient explodes
VANISHING_RATIO = 1 / GRADIENT_FACTOR  # doctor: a layer's grad/weight vs the output layer's
EXPLODING_RATIO = GRADIENT_FACTOR
EXPLODING_REL = 1e2  # doctor: |grad| / |weight| of one layer, absolute: one step would wreck it
FLAT_REL = 1e-8  # doctor: every layer's grad/weight below this: the loss is flat (float32 noise)

# --- activations -------------------------------------------------------------------------------
# A sigmoid unit is saturated where its slope s(1-s) is below 0.01 (|x| > 4.6); tanh likewise.
SATURATION_LOW, SATURATION_HIGH = 0.01, 0.99
SATURATED_ON = 0.9  # a unit pinned at its limits on this share of the batch is saturated...
SATURATED_UNITS = 0.25  # ...and a layer is reported when this share of its units is
# A ReLU unit dead on the whole batch passes back nothing: warn when half a layer is, note a
# quarter (a few dead units are normal and harmless).
DEAD_UNITS_WARN, DEAD_UNITS_INFO = 0.5, 0.25
# viz sees one ReLU output tensor, not units: dead when this share of its values is 0 (not
# 1.0: one live value in a big batch still leaves the op all but dead).
DEAD_FRACTION = 0.99
CONSTANT_STD = 1e-3  # a unit whose output varies less than this carries no information...
CONSTANT_UNITS = 0.5  # ...reported when this share of a layer's units is constant

# A layer's weight std this many times off Xavier's sqrt(2 / (fan_in + fan_out)), either way:
# the signal grows or fades by that factor at every layer.
WEIGHT_SCALE = 10.0

# --- data --------------------------------------------------------------------------------------
SCALE_LIMIT = 3.0  # inputs whose mean or std is this far from ~0 / ~1 are unnormalised
TINY_STD = 1e-2  # ...or tiny: a std below this (values near 0) usually means scaled twice
DOMINANT_SHARE = 0.5  # one class holding this share of the labels dominates...
BINARY_SHARE = 0.9  # ...with 2 classes, this share
MIN_LABELS = 20  # too few labels say nothing about balance

# --- the loss and the learning rate ------------------------------------------------------------
# Initial cross-entropy counts as far from ln(C) above ln(C) + max(1, 0.5 ln C).
INITIAL_LOSS_SLACK = 0.5
# Update-to-weight ratio |dw|/|w| per step: about 1e-3 (SGD) to 1e-2 (Adam, early) is healthy.
RATIO_HIGH = 0.2  # median over the steps, any layer
RATIO_JUMP = 1.0  # any single step: the weights changed by more than their own size
RATIO_LOW = 1e-5  # median, the fastest-learning layer
RATIO_SLOW = 1e-4  # ...this slow counts too when the loss is not moving either
# quick_checks' first steps: wider than diagnose's medians over random batches, since Adam's
# first steps move every weight by ~lr.
FIRST_STEPS_HIGH, FIRST_STEPS_LOW = 0.5, 1e-6
SHRINK = 0.5  # a weight norm below half its starting value: weight decay is winning
NOT_MOVING = 0.01  # relative change of the loss on the fixed batch
DIVERGING = 1.2  # the loss grew by 20% (plus 0.05): it diverges
STUCK = 0.97  # loss at least this share of the constant-output baseline: nothing learnt

# --- predictions -------------------------------------------------------------------------------
CONSTANT_PREDICTIONS = 0.05  # spread across inputs (C * mean std of probabilities) below this
ONE_CLASS_SHARE = 0.9  # one class predicted for this share of the inputs
