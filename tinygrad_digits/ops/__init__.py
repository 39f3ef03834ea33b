"""Differentiable ops: small Functions, forward on raw arrays beside backward in Tensor ops."""
