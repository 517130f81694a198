"""Tests of shared.values, one module per module of the package."""
