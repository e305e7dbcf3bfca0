"""Top-k recommendation: a collaborative-filtering retriever, rerankers that predict ratings, ranking metrics.

  interactions.py  raw reviews -> integer-coded, de-duplicated interactions (+ texts, item metadata)
  split.py         leave-last-out per user, or by time; the training matrix
  retriever.py     library CF retrievers (implicit BPR/ALS, torch-geometric LightGCN)
  candidates.py    top-N candidates without seen items; the two evaluation protocols
  rerankers.py     the Reranker protocol, naive/item averages, the plug-in hook
  student.py       a trained `recsaver train` student: expected rating from rating-token probabilities
  exp3rt_reranker.py  an EXP3RT student: profiles from training reviews -> expected rating
  teacher_reranker.py the teacher zero-shot (one call per candidate, resumable store)
  evaluate.py      split -> retriever -> top-N -> rerankers -> metrics for both protocols
  metrics.py       Recall@k, NDCG@k, MRR (checked against ir-measures in the tests)
  report.py        the table (markdown/JSON) and the NDCG@k plot
  rerank_cli.py    `recsaver rerank`
"""
