"""Using a trained model: top-k recommendations in the data's own ids, and exports for serving stacks."""
from ssrec.serving.recommender import Recommendations, Recommender
from ssrec.serving.vocabulary import UnknownIdError, Vocabulary

__all__ = ["Recommendations", "Recommender", "UnknownIdError", "Vocabulary"]
