"""Subprocess for the kill -9 test: puts N samples into a store, skipping stored ones."""
import sys

from recsaver_t5x.teacher.store import Sample, SampleKey, SampleStore


def main(path: str, n: int, size: int) -> None:
  written = 0
  with SampleStore(path) as store:
    print(f"opened {len(store)} repaired {store.repaired_bytes}", flush=True)
    for i in range(n):
      key = SampleKey(f"ex{i // 4}", "reasoning", "m", 0.7, i % 4)
      if key in store:
        continue
      written += store.put(Sample(key, text=f"{i}:" + "x" * size, seed=i))
  print(f"wrote {written}", flush=True)


if __name__ == "__main__":
  main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
