"""Tests of shared.filters, one module per module of the package."""
