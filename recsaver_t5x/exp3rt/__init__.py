"""EXP3RT (Kim et al., SIGIR 2025) on the toolkit's machinery.

preference extraction (`preferences`) -> user/item profiles (`selection`, `profiles`) ->
rating-conditioned rationales through the Rec-SAVER leakage filter and self-verification
(`rationales`) -> three SeqIO task families (`recsaver_t5x.tasks.exp3rt`) -> chained student inference
with parsed / argmax / expected read-outs (`chain`, `readout`) -> the EXP3RT table (`report`).
"""
