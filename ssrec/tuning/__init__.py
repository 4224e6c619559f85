"""Hyper-parameter search over run specs with Optuna (``ssrec tune``): the space file, the study, the plots."""
