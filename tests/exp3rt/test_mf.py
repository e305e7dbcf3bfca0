"""cornac MF baseline on real data: what it may learn from, cold starts, predictions on the scale."""
import pytest

from recsaver_t5x.data import io as data_io
from recsaver_t5x.data.prepare import PrepareConfig, prepare
from recsaver_t5x.exp3rt import corpus as corpus_lib, mf
from recsaver_t5x.scale import RatingScale

MAG = "magazine_subscriptions"


@pytest.fixture(scope="module")
def data(amazon_dir, tmp_path_factory):
  d = amazon_dir / MAG
  out = tmp_path_factory.mktemp("mf")
  prepare(PrepareConfig(domain=MAG, reviews=(str(d / "Magazine_Subscriptions_5.json.gz"),),
                        train_per_label=8, test_per_label=4), str(out))
  corpus, _ = corpus_lib.load_for(str(out))
  return corpus, data_io.read_split(str(out), "test")


def test_training_excludes_test_targets_and_test_users_future(data):
  corpus, test = data
  triples = mf.training_triples(corpus, test)
  n_all = sum(len(v) for v in corpus.by_user.values())
  future = sum(1 for ex in test for r in corpus.by_user[ex.user_id] if r.timestamp >= ex.timestamp)
  assert len(triples) == n_all - future
  seen = {(u, i) for u, i, _ in triples}
  for ex in test:
    assert (ex.user_id, ex.target.asin) not in seen or any(  # only an earlier review of it
        r.asin == ex.target.asin and r.timestamp < ex.timestamp for r in corpus.by_user[ex.user_id])


def test_predictions_on_scale_and_cold_starts(data):
  corpus, test = data
  preds, cold = mf.predict(corpus, test, RatingScale(), mf.MFConfig(max_iter=50))
  assert len(preds) == len(test) and all(1 <= p <= 5 for p in preds)
  users = {u for u, _, _ in mf.training_triples(corpus, test)}
  items = {i for _, i, _ in mf.training_triples(corpus, test)}
  assert cold == sum(ex.user_id not in users or ex.target.asin not in items for ex in test)
  again, _ = mf.predict(corpus, test, RatingScale(), mf.MFConfig(max_iter=50))
  assert again == preds  # seeded
