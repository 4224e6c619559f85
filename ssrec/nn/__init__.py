"""Neural-network building blocks shared by backbones."""
from ssrec.nn.attention import IMPLEMENTATIONS, attention, attention_mask

__all__ = ["IMPLEMENTATIONS", "attention", "attention_mask"]
