"""Training for HEF Code (Hierarchical Embedding Fusion): from raw repositories to the files the sidecar loads."""
