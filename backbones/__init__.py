"""Built-in backbones. They register through the same hook as third-party plugins."""
from __future__ import annotations

from collections.abc import Callable

from ssrec.hookspecs import hookimpl


@hookimpl
def ssrec_register_backbones(register: Callable[..., None]) -> None:
    from ssrec.backbones.caser import Caser
    from ssrec.backbones.gru4rec import GRU4Rec
    from ssrec.backbones.transformer import Transformer, sasrec

    register("transformer", Transformer,
             description="S3-Rec Transformer encoder; bidirectional by default, causal per call")
    register("sasrec", sasrec, description="SASRec: the causal preset of the Transformer")
    register("gru4rec", GRU4Rec, description="GRU4Rec: item embedding, GRU, projection; causal, tied output")
    register("caser", Caser, description="Caser: convolutions over the last L items + user embedding; summary only")
