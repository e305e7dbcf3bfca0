"""Flan-T5 (T5 v1.1) in JAX/Flax with T5X conventions.

config        T5Config, named Flan-T5 sizes (get_config), the T5X fixture's config.json
network       Transformer (T5X parameter names, logical axis annotations)
partitioning  T5X logical-axis rules, ('data', 'model') meshes, NamedShardings
checkpoints   T5X legacy/orbax and Hugging Face import; our own orbax save/restore
decoding      cached greedy, temperature/top-k sampling, beam search; teacher-forced scores
vocab         seqio SentencePiece vocabularies; offline SentencePiece training
rating_probs  5-way rating distribution after "### Rating ###" from one forward pass

Modules import JAX lazily through their own imports; this package file imports nothing.
"""
