"""Files of models: atomic writes, verified checkpoints, weight transfer, the S3-Rec authors' checkpoints."""
