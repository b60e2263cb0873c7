"""Analyses over runs: stability, robustness, refusals, confusion."""
