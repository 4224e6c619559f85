"""The built-in backbones, objectives and losses pass the contract suites that plugin authors subclass
(ssrec.testing)."""
from __future__ import annotations

import ssrec
from ssrec.testing import BackboneContract, LossContract, ObjectiveContract

for _name in ssrec.list_backbones():
    globals()[f"TestBackbone_{_name}"] = type(f"TestBackbone_{_name}", (BackboneContract,), {"backbone_name": _name})

for _name in ssrec.list_objectives():
    globals()[f"TestObjective_{_name}"] = type(f"TestObjective_{_name}", (ObjectiveContract,),
                                               {"objective_name": _name})

for _name in ssrec.list_losses():
    _cls = f"TestLoss_{_name.replace('-', '_')}"
    globals()[_cls] = type(_cls, (LossContract,), {"loss_name": _name})


class TestLoss_sampled_softmax_popularity(LossContract):
    loss_name = "sampled-softmax"
    loss_options = {"num_negatives": 8, "distribution": "popularity"}


class TestObjective_mip_infonce(ObjectiveContract):
    objective_name = "mip"
    objective_options = {"num_negatives": 4, "infonce": True, "reduction": "mean"}


class TestObjective_sp_on_gru4rec(ObjectiveContract):
    objective_name = "sp"
    backbone_name = "gru4rec"


class TestBackbone_caser_without_users(BackboneContract):
    backbone_name = "caser"
    num_users = 0
