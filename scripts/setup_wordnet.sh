#!/usr/bin/env bash
# Offline WordNet 3.0 for nltk's METEOR, from Debian packages (no hub download).
#
# Usage: scripts/setup_wordnet.sh [NLTK_DATA_DIR]
#   NLTK_DATA_DIR defaults to the first entry of $NLTK_DATA, else $VIRTUAL_ENV/nltk_data, else
#   <repo>/.venv/nltk_data (nltk searches <sys.prefix>/nltk_data, so a venv finds it unaided).
#
# Why the copy: nltk >= 3.9 reads corpora only under its data path, not /usr/share/wordnet, and
# the Debian packages lack the `lexnames` file that nltk's WordNet reader opens first.
# Idempotent: re-running checks what is there and only fills in what is missing.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -ge 1 && -n "$1" ]]; then
  data_dir="$1"
elif [[ -n "${NLTK_DATA:-}" ]]; then
  data_dir="${NLTK_DATA%%:*}"
elif [[ -n "${VIRTUAL_ENV:-}" ]]; then
  data_dir="$VIRTUAL_ENV/nltk_data"
else
  data_dir="$repo_root/.venv/nltk_data"
fi
src=/usr/share/wordnet
dest="$data_dir/corpora/wordnet"

if [[ ! -f "$src/data.noun" || ! -f "$src/index.sense" ]]; then
  echo "setup_wordnet: $src incomplete; installing wordnet-base wordnet-sense-index (apt)"
  sudo_cmd=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || {
      echo "setup_wordnet: need root: apt-get install -y wordnet-base wordnet-sense-index" >&2
      exit 1
    }
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo_cmd[@]}" apt-get install -y --no-install-recommends wordnet-base wordnet-sense-index; then
    "${sudo_cmd[@]}" apt-get update
    "${sudo_cmd[@]}" apt-get install -y --no-install-recommends wordnet-base wordnet-sense-index
  fi
fi

mkdir -p "$dest"
# Plain database files only (data.*, index.*, *.exc, cntlist*, ...); skip the GUI's bin/ etc.
for f in "$src"/*; do
  [[ -f "$f" ]] || continue
  name="$(basename "$f")"
  if [[ ! -f "$dest/$name" ]] || ! cmp -s "$f" "$dest/$name"; then
    cp "$f" "$dest/$name"
  fi
done

# WordNet 3.0 lexicographer files, as in lexnames(5WN): number, name, syntactic category
# (1 noun, 2 verb, 3 adjective, 4 adverb).
lexnames="$(cat <<'EOF'
00	adj.all	3
01	adj.pert	3
02	adv.all	4
03	noun.Tops	1
04	noun.act	1
05	noun.animal	1
06	noun.artifact	1
07	noun.attribute	1
08	noun.body	1
09	noun.cognition	1
10	noun.communication	1
11	noun.event	1
12	noun.feeling	1
13	noun.food	1
14	noun.group	1
15	noun.location	1
16	noun.motive	1
17	noun.object	1
18	noun.person	1
19	noun.phenomenon	1
20	noun.plant	1
21	noun.possession	1
22	noun.process	1
23	noun.quantity	1
24	noun.relation	1
25	noun.shape	1
26	noun.state	1
27	noun.substance	1
28	noun.time	1
29	verb.body	2
30	verb.change	2
31	verb.cognition	2
32	verb.communication	2
33	verb.competition	2
34	verb.consumption	2
35	verb.contact	2
36	verb.creation	2
37	verb.emotion	2
38	verb.motion	2
39	verb.perception	2
40	verb.possession	2
41	verb.social	2
42	verb.stative	2
43	verb.weather	2
44	adj.ppl	3
EOF
)"
if [[ ! -f "$dest/lexnames" ]] || [[ "$(cat "$dest/lexnames")" != "$lexnames" ]]; then
  printf '%s\n' "$lexnames" > "$dest/lexnames"
fi

echo "setup_wordnet: WordNet 3.0 ready in $dest ($(wc -l < "$dest/lexnames") lexnames)"
