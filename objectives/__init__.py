"""Built-in pre-training objectives, installed as ``ssrec.objectives``.

They register through the same hook as third-party plugins. None are registered yet: the S3-Rec
objectives (AAP, MIP, MAP, SP) arrive in a later issue.
"""
from __future__ import annotations

from ssrec.hookspecs import Register, hookimpl


@hookimpl
def ssrec_register_objectives(register: Register) -> None:
    """Register the built-in objectives (none yet)."""
