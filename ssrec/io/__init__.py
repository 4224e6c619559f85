"""Files of models: verified checkpoints, weight transfer, the S3-Rec authors' checkpoints."""
