"""The reasoning/rating student as a reranker: a real trained model on real data, resumable."""
import json
import os

import numpy as np
import pytest

from recsaver_t5x.rerank import retriever
from recsaver_t5x.rerank.evaluate import build_queries
from recsaver_t5x.rerank.rerankers import expected_rating, score_all
from tests.rerank import student_fixture


@pytest.mark.slow
def test_student_reranker_scores_expected_ratings_and_resumes(amazon_dir, tmp_path):
  from recsaver_t5x.rerank.student import StudentReranker
  split, items = student_fixture.load(amazon_dir)
  model_dir, spm = student_fixture.train_student(str(tmp_path), split, items)
  r = retriever.make_retriever(retriever.RetrieverConfig(kind="bpr", factors=16, iterations=20))
  r.fit(split.train)
  pos = np.arange(100, 104)
  top, _ = retriever.top_n(r, split.train, split.test_users[pos], 5)
  queries = build_queries(split, pos, top, np.full(4, -1), items, max_history=10)
  work = str(tmp_path / "rerank")

  def student():
    return StudentReranker(model_dir, spm, work, "digital_music", targets="rating",
                           input_length=512, max_decode_length=8, batch_size=8,
                           budget=student_fixture.BUDGET, progress=False)

  s = student()
  scores = score_all(s, queries, batch_queries=3)
  assert s.calls == 20 and [len(x) for x in scores] == [5] * 4
  preds_path = os.path.join(work, "predictions_recsaver_rerank_student_student_rating_eval.jsonl")
  preds = {p["example_id"]: p for p in map(json.loads, open(preds_path))}
  assert len(preds) == 20
  for q, sc in zip(queries, scores):
    for item, v in zip(q.candidates, sc):
      p = preds[f"{q.user_id}|{item.asin}"]
      assert abs(sum(p["probs"]) - 1) < 1e-4
      assert v == pytest.approx(expected_rating(np.array(p["probs"])))
      assert 1.0 <= v <= 5.0
  # a new reranker on the same work dir decodes nothing again and gives the same scores
  lines = open(preds_path).read()
  again = score_all(student(), queries, batch_queries=4)
  assert open(preds_path).read() == lines
  assert all(np.array_equal(a, b) for a, b in zip(scores, again))
