"""The recipe's stages, one module each: what a stage trains, from which batches, with which loss."""
