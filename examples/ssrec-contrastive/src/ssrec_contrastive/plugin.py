"""The plugin module named by this package's ``ssrec`` entry point."""
from __future__ import annotations

from ssrec import hookimpl


@hookimpl
def ssrec_register_objectives(register) -> None:
    from ssrec_contrastive.objective import Contrastive  # import the code when the registry is built

    register("contrastive", Contrastive,
             description="CL4SRec: InfoNCE between two crop/mask/reorder views of each sequence (weight 1.0)")
