"""Ranking evaluation: the paper's protocols, metrics and reference scorers."""
