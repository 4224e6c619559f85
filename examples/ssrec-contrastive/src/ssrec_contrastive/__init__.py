"""CL4SRec-style contrastive learning as an ssrec pre-training objective (an example plugin package)."""
from ssrec_contrastive.augment import augment, crop, mask, reorder
from ssrec_contrastive.objective import Contrastive, info_nce

__all__ = ["Contrastive", "augment", "crop", "info_nce", "mask", "reorder"]
