"""Top-k recommendation: a collaborative-filtering retriever, rerankers that predict ratings, ranking metrics.

  interactions.py  raw reviews -> integer-coded, de-duplicated interactions (+ texts, item metadata)
  split.py         leave-last-out per user, or by time; the training matrix
  retriever.py     library CF retrievers (implicit BPR/ALS, torch-geometric LightGCN)
  candidates.py    top-N candidates without seen items; the two evaluation protocols
  rerankers.py     the Reranker protocol and the toolkit's rating models behind it
  metrics.py       Recall@k, NDCG@k, MRR (checked against ir-measures in the tests)
  report.py        the table (markdown/JSON) and the NDCG@k plot
  rerank_cli.py    `recsaver rerank`
"""
