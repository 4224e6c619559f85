"""The training loops and their plumbing: pre-training, fine-tuning, batching, precision, resume, distribution."""
