#!/usr/bin/env python3
"""Rebuild Sapa's public NLU training and benchmark files from snapshots of public datasets.

    python scripts/public_data.py /work/.mirror            # write every output file
    python scripts/public_data.py /work/.mirror --check    # rebuild in memory, compare with disk and manifest

Arguments are bare git directories of the source repositories, or folders holding them (searched
three levels deep).  Each repository is recognised by a file it holds and read with
``git --git-dir=... show <commit>:<path>`` at the commit pinned in SOURCES (``--any-commit`` reads
HEAD instead, and the outputs may then differ from the manifest):

    IndoNLP/indonlu                   SmSA, EmoT
    IndoNLP/nusax                     NusaX-senti (indonesian, javanese, sundanese, english)
    clinc/oos-eval                    CLINC150 (data/data_full.json)
    hellohaptik/HINT3                 HINT3 v2 (sofmattress, curekart, powerplay11)
    PolyAI-LDN/task-specific-datasets Banking77 (banking_data/ only; NLU++ in the same repo is not read)
    mainlp/xsid                       xSID, English train only

Labels are mapped with handlers/nlu/data/public/mapping/<dataset>.yaml (every source label must be
listed there; null = left out).  Rules applied (see handlers/nlu/data/public/MAPPING.md, DATA.md):

* training files come from train splits only; benchmark files from test splits only;
* a training row is dropped when its squashed text (lower case, letters and digits only) equals
  that of any validation or test row read here, and an Indonesian sentiment training row is
  dropped when it is a near copy of an Indonesian validation/test row (NusaX was built from SmSA
  sentences, edited and often shortened): 5-character shingles shared amounting to half of the
  smaller text (both >= 20 shingles), or word-set Jaccard >= 0.6 (both >= 4 words).  A NusaX
  sentence dropped in Indonesian is dropped in every language;
* texts are stripped; in each file exact duplicates are removed (first kept) and a text that
  appears with two different targets is removed altogether;
* rows keep the order of the source files; JSON lines are compact, UTF-8, keys in a fixed order.

Besides the data files it writes handlers/nlu/data/public/manifest.json (source commits, row
counts, sha256 of every output, dropped-row counts).  Standard library + PyYAML only.
"""
from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = "handlers/nlu/data/public"
MAPPING_DIR = f"{PUBLIC}/mapping"
TRAIN_DIR = f"{PUBLIC}/train"
BENCH_DIR = "bench/data/public"
MANIFEST = f"{PUBLIC}/manifest.json"

CORE_INTENTS = {"order", "order_status", "cancel_order", "complaint", "faq", "promotion",
                "location", "greeting", "human_handoff", "other"}

# name -> (repository, pinned commit, a file that identifies it)
SOURCES = {
    "indonlu": ("IndoNLP/indonlu", "ce728f6926a36174b9923dfe49d6a6839b6e9bb7",
                "dataset/smsa_doc-sentiment-prosa/train_preprocess.tsv"),
    "nusax": ("IndoNLP/nusax", "75b0be5d982348332509f296e10d9bf9cb66d60f",
              "datasets/sentiment/indonesian/train.csv"),
    "clinc": ("clinc/oos-eval", "828f8093932c8fe6ca7936c3d2e52903b1c523de", "data/data_full.json"),
    "hint3": ("hellohaptik/HINT3", "99965c892ea9a6801a87083d3861b0b04c91a4e7",
              "dataset/v2/train/curekart_train.csv"),
    "banking77": ("PolyAI-LDN/task-specific-datasets", "57ec275d8078af65b7731c2a98be812d844a6d6b",
                  "banking_data/train.csv"),
    "xsid": ("mainlp/xsid", "761d926c3f2e9f6bea13192d2f39cec1d04d9777", "data/xSID/mt.train.da/text.en"),
}
HINT3_BOTS = ("sofmattress", "curekart", "powerplay11")
XSID_VERSION = "data/xSID-0.7"  # newest English valid/test, read only to keep them out of training
# The English train file (data/xSID*/en.train.conll) is over the snapshot's 4 MiB limit and absent;
# the same English training sentences and their labels are in the MT folder: text.en is the
# sentence, label.en "<slot tags>\t<intent>", line by line.
XSID_TRAIN_TEXT = "data/xSID/mt.train.da/text.en"
XSID_TRAIN_LABEL = "data/xSID/mt.train.da/label.en"

SHINGLE = 5
FUZZY_MIN_SHINGLES = 20
FUZZY_OVERLAP = 0.5
FUZZY_MIN_WORDS = 4
FUZZY_JACCARD = 0.6


# ---------------------------------------------------------------- reading the snapshots

class Repo:
    def __init__(self, name: str, git_dir: Path, any_commit: bool):
        self.name, self.git_dir = name, git_dir
        repo, pinned, _ = SOURCES[name]
        head = self._git("rev-parse", "HEAD").strip()
        if any_commit:
            self.commit = head
        else:
            if subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "-e", f"{pinned}^{{commit}}"],
                              capture_output=True).returncode != 0:
                sys.exit(f"{repo}: pinned commit {pinned} is not in {git_dir} (HEAD {head}); "
                         "fetch that snapshot or pass --any-commit")
            self.commit = pinned
        self.repo = repo

    def _git(self, *args: str) -> str:
        r = subprocess.run(["git", f"--git-dir={self.git_dir}", *args], capture_output=True)
        if r.returncode != 0:
            sys.exit(f"git {' '.join(args)} in {self.git_dir}: {r.stderr.decode(errors='replace').strip()}")
        return r.stdout.decode("utf-8")

    def read(self, path: str) -> str:
        text = self._git("show", f"{self.commit}:{path}")
        return text[1:] if text.startswith("\ufeff") else text


def _is_git_dir(p: Path) -> bool:
    return (p / "HEAD").is_file() and (p / "objects").is_dir()


def _git_dirs(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for a in paths:
        p = Path(a)
        if _is_git_dir(p):
            found.append(p)
            continue
        if (p / ".git").is_dir():
            found.append(p / ".git")
            continue
        level = [p]
        for _ in range(3):
            nxt = []
            for d in level:
                for c in sorted(x for x in d.iterdir() if x.is_dir()) if d.is_dir() else []:
                    (found if _is_git_dir(c) else nxt).append(c)
            level = nxt
    return found


def open_repos(paths: list[str], any_commit: bool) -> dict[str, Repo]:
    repos: dict[str, Repo] = {}
    for g in _git_dirs(paths):
        for name, (_, _, marker) in SOURCES.items():
            if name in repos:
                continue
            r = subprocess.run(["git", f"--git-dir={g}", "cat-file", "-e", f"HEAD:{marker}"], capture_output=True)
            if r.returncode == 0:
                repos[name] = Repo(name, g, any_commit)
    missing = [SOURCES[n][0] for n in SOURCES if n not in repos]
    if missing:
        sys.exit(f"no snapshot found for: {', '.join(missing)}")
    return repos


def mapping(name: str) -> dict:
    return yaml.safe_load((ROOT / MAPPING_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def check_labels(where: str, table: dict, seen: set[str], allowed: set) -> None:
    missing = sorted(seen - set(table))
    if missing:
        sys.exit(f"{where}: labels not in the mapping file: {missing}")
    bad = {k: v for k, v in table.items() if v not in allowed}
    if bad:
        sys.exit(f"{where}: mapped to unknown targets: {bad}")
    unused = sorted(set(table) - seen)
    if unused:
        print(f"note: {where}: mapping lists labels absent from the data: {unused}", file=sys.stderr)


# ---------------------------------------------------------------- text keys

def squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def shingles(text: str) -> set[str]:
    s = squash(text)
    return {s[i:i + SHINGLE] for i in range(len(s) - SHINGLE + 1)}


CLITICS = {"nya", "ku", "mu", "lah", "kah", "pun"}  # SmSA writes "makanan nya", NusaX "makanannya"


def words(text: str) -> set[str]:
    out: list[str] = []
    for w in re.findall(r"[^\W_]+", text.lower()):
        if w in CLITICS and out:
            out[-1] += w
        else:
            out.append(w)
    return set(out)


class NearIndex:
    """Held-out texts.  ``near(t)``: t shares 5-character shingles with one of them amounting to at
    least half of the smaller text (both >= 20 shingles), or the two have word-set Jaccard >= 0.6
    (both >= 4 words).  NusaX sentences are SmSA sentences edited and often shortened."""

    def __init__(self, texts: list[str]):
        self.sets = [shingles(t) for t in texts]
        self.words = [words(t) for t in texts]
        self.index: dict[str, list[int]] = collections.defaultdict(list)
        self.word_index: dict[str, list[int]] = collections.defaultdict(list)
        for i, s in enumerate(self.sets):
            if len(s) >= FUZZY_MIN_SHINGLES:
                for g in s:
                    self.index[g].append(i)
        for i, w in enumerate(self.words):
            if len(w) >= FUZZY_MIN_WORDS:
                for g in w:
                    self.word_index[g].append(i)

    def near(self, text: str) -> bool:
        q = shingles(text)
        if len(q) >= FUZZY_MIN_SHINGLES:
            hits = collections.Counter(i for g in q for i in self.index.get(g, ()))
            if any(c >= FUZZY_OVERLAP * min(len(q), len(self.sets[i])) for i, c in hits.items()):
                return True
        w = words(text)
        if len(w) >= FUZZY_MIN_WORDS:
            # Jaccard >= J needs at least J*|w| shared words, so a match shares one of any
            # |w| - ceil(J*|w|) + 1 words: look candidates up by the rarest of them only.
            k = len(w) - math.ceil(FUZZY_JACCARD * len(w)) + 1
            rare = sorted(w, key=lambda g: (len(self.word_index.get(g, ())), g))[:k]
            for i in {i for g in rare for i in self.word_index.get(g, ())}:
                if len(w & self.words[i]) >= FUZZY_JACCARD * len(w | self.words[i]):
                    return True
        return False


# ---------------------------------------------------------------- loading each dataset
# Each loader returns {split: [(text, source_label, extra)]}; extra carries a bot or a row id.

def _rows(texts_labels, extra=None):
    return [(t.strip(), l, extra) for t, l in texts_labels if t and t.strip()]


def load_smsa(r: Repo) -> dict:
    out = {}
    for split in ("train", "valid", "test"):
        rows = []
        for line in r.read(f"dataset/smsa_doc-sentiment-prosa/{split}_preprocess.tsv").splitlines():
            if line.strip():
                text, label = line.rsplit("\t", 1)
                rows.append((text, label.strip()))
        out[split] = _rows(rows)
    return out


def load_emot(r: Repo) -> dict:
    out = {}
    for split in ("train", "valid", "test"):
        reader = csv.DictReader(io.StringIO(r.read(f"dataset/emot_emotion-twitter/{split}_preprocess.csv")))
        out[split] = _rows((row["tweet"], row["label"]) for row in reader)
    return out


def load_nusax(r: Repo, language: str) -> dict:
    out = {}
    for split in ("train", "valid", "test"):
        reader = csv.DictReader(io.StringIO(r.read(f"datasets/sentiment/{language}/{split}.csv")))
        out[split] = [(row["text"].strip(), row["label"], row["id"]) for row in reader if row["text"].strip()]
    return out


def load_clinc(r: Repo) -> dict:
    d = json.loads(r.read("data/data_full.json"))
    return {"train": _rows(d["train"] + d["oos_train"]), "val": _rows(d["val"] + d["oos_val"]),
            "test": _rows(d["test"] + d["oos_test"])}


def load_hint3(r: Repo) -> dict:
    out = {"train": [], "test": []}
    for split in out:
        for bot in HINT3_BOTS:
            reader = csv.DictReader(io.StringIO(r.read(f"dataset/v2/{split}/{bot}_{split}.csv")))
            out[split] += [(row["sentence"].strip(), row["label"].strip(), bot)
                           for row in reader if (row["sentence"] or "").strip()]
    return out


def load_banking77(r: Repo) -> dict:
    out = {}
    for split in ("train", "test"):
        reader = csv.DictReader(io.StringIO(r.read(f"banking_data/{split}.csv")))
        out[split] = _rows((row["text"], row["category"]) for row in reader)
    return out


def load_xsid(r: Repo) -> dict:
    texts = r.read(XSID_TRAIN_TEXT).split("\n")
    labels = r.read(XSID_TRAIN_LABEL).split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    if labels and labels[-1] == "":
        labels.pop()
    if len(texts) != len(labels):
        sys.exit(f"xSID: {XSID_TRAIN_TEXT} has {len(texts)} lines, {XSID_TRAIN_LABEL} {len(labels)}")
    out = {"train": _rows((t, lab.rsplit("\t", 1)[1].strip()) for t, lab in zip(texts, labels))}
    for split in ("valid", "test"):  # held out: only their texts are used, to keep them out of training
        conll = r.read(f"{XSID_VERSION}/en.{split}.conll")
        out[split] = _rows((line[len("# text = "):], None) for line in conll.splitlines()
                           if line.startswith("# text = "))
    return out


# ---------------------------------------------------------------- building the files

class Build:
    def __init__(self):
        self.files: dict[str, list[dict]] = {}
        self.dropped: dict[str, dict[str, int]] = {}

    def add(self, path: str, rows: list[dict], target: str, dropped: dict[str, int] | None = None):
        """Deduplicate (first kept) and remove texts seen with two different targets."""
        targets: dict[str, set] = collections.defaultdict(set)
        for row in rows:
            targets[row["text"]].add(json.dumps(row[target]))
        seen, kept = set(), []
        conflicts = {t for t, v in targets.items() if len(v) > 1}
        dup = 0
        for row in rows:
            if row["text"] in conflicts:
                continue
            if row["text"] in seen:
                dup += 1
                continue
            seen.add(row["text"])
            kept.append(row)
        stats = dict(dropped or {})
        stats["duplicates"] = dup
        stats["conflicting_texts"] = len(conflicts)
        self.files[path] = kept
        self.dropped[path] = stats

    def render(self, path: str) -> bytes:
        return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"
                       for r in self.files[path]).encode("utf-8")


def intent_rows(rows, table, *, bot_table=None, with_bot=False):
    out = []
    for text, label, extra in rows:
        intent = (bot_table[extra] if bot_table else table)[label]
        if intent is None:
            continue
        row = {"text": text, "intent": intent, "source_label": label}
        if with_bot:
            row["bot"] = extra
        out.append(row)
    return out


def build(repos: dict[str, Repo]) -> Build:
    b = Build()
    smsa = load_smsa(repos["indonlu"])
    emot = load_emot(repos["indonlu"])
    nx_map = mapping("nusax")
    nusax = {lang: load_nusax(repos["nusax"], lang) for lang in nx_map["languages"]}
    clinc = load_clinc(repos["clinc"])
    hint3 = load_hint3(repos["hint3"])
    bank = load_banking77(repos["banking77"])
    xsid = load_xsid(repos["xsid"])

    # Every validation/test text read here is held out of every training file.
    held_out = [smsa["valid"], smsa["test"], emot["valid"], emot["test"], clinc["val"], clinc["test"],
                hint3["test"], bank["test"], xsid["valid"], xsid["test"]]
    held_out += [nusax[lang][s] for lang in nusax for s in ("valid", "test")]
    held_keys = {squash(t) for rows in held_out for t, _, _ in rows} - {""}
    near_id = NearIndex([t for rows in (smsa["valid"], smsa["test"], emot["valid"], emot["test"],
                                        nusax["indonesian"]["valid"], nusax["indonesian"]["test"])
                         for t, _, _ in rows])

    def decontaminate(rows, indonesian=False):
        kept, n_exact, n_near = [], 0, 0
        for row in rows:
            if squash(row[0]) in held_keys:
                n_exact += 1
            elif indonesian and near_id.near(row[0]):
                n_near += 1
            else:
                kept.append(row)
        return kept, {"held_out_exact": n_exact, "held_out_near": n_near}

    def mapped_intents(name, splits):
        """The training file (and the benchmark file, when there is a test split) of one dataset."""
        m = mapping(name)["labels"]
        check_labels(name, m, {l for s in splits.values() for _, l, _ in s}, CORE_INTENTS | {None})
        rows, d = decontaminate(splits["train"])
        b.add(f"{TRAIN_DIR}/intents_{name}.jsonl", intent_rows(rows, m), "intent", d)
        if "test" in splits:
            b.add(f"{BENCH_DIR}/{name}_test.jsonl", intent_rows(splits["test"], m), "intent")

    # ---- intents: training files
    mapped_intents("clinc150", clinc)

    hm = mapping("hint3")["bots"]
    for bot in HINT3_BOTS:
        seen = {l for s in hint3.values() for _, l, e in s if e == bot}
        check_labels(f"hint3/{bot}", hm[bot], seen, CORE_INTENTS | {None})
    rows, d = decontaminate(hint3["train"])
    b.add(f"{TRAIN_DIR}/intents_hint3.jsonl", intent_rows(rows, None, bot_table=hm, with_bot=True), "intent", d)
    for bot in HINT3_BOTS:
        test = [r for r in hint3["test"] if r[2] == bot]
        b.add(f"{BENCH_DIR}/hint3_{bot}_test.jsonl", intent_rows(test, None, bot_table=hm), "intent")

    mapped_intents("banking77", bank)
    mapped_intents("xsid", {"train": xsid["train"]})

    # ---- sentiment
    def sent_rows(rows, table, lang):
        return [{"text": t, "negative": table[l], "lang": lang} for t, l, _ in rows if table[l] is not None]

    def bench_rows(rows, table):
        return [{"text": t, "negative": table[l], "label": l} for t, l, _ in rows if table[l] is not None]

    m = mapping("smsa")["negative"]
    check_labels("smsa", m, {l for s in smsa.values() for _, l, _ in s}, {True, False, None})
    rows, d = decontaminate(smsa["train"], indonesian=True)
    b.add(f"{TRAIN_DIR}/sentiment_smsa.jsonl", sent_rows(rows, m, "id"), "negative", d)
    b.add(f"{BENCH_DIR}/smsa_test.jsonl", bench_rows(smsa["test"], m), "negative")

    m = mapping("emot")["negative"]
    check_labels("emot", m, {l for s in emot.values() for _, l, _ in s}, {True, False, None})
    rows, d = decontaminate(emot["train"], indonesian=True)
    b.add(f"{TRAIN_DIR}/sentiment_emot.jsonl", sent_rows(rows, m, "id"), "negative", d)
    b.add(f"{BENCH_DIR}/emot_test.jsonl", bench_rows(emot["test"], m), "negative")

    m = nx_map["negative"]
    check_labels("nusax", m, {l for lang in nusax.values() for s in lang.values() for _, l, _ in s},
                 {True, False, None})
    # A NusaX id is one sentence in every language: drop it everywhere when the Indonesian one is held out.
    bad_ids = {i for t, _, i in nusax["indonesian"]["train"] if squash(t) in held_keys or near_id.near(t)}
    for lang, spec in nx_map["languages"].items():
        kept, n_exact, n_id = [], 0, 0
        for row in nusax[lang]["train"]:
            if row[2] in bad_ids:
                n_id += 1
            elif squash(row[0]) in held_keys:
                n_exact += 1
            else:
                kept.append(row)
        b.add(f"{TRAIN_DIR}/sentiment_nusax_{spec['suffix']}.jsonl", sent_rows(kept, m, spec["lang"]), "negative",
              {"held_out_exact": n_exact, "held_out_via_indonesian": n_id})
        b.add(f"{BENCH_DIR}/nusax_{spec['suffix']}_test.jsonl", bench_rows(nusax[lang]["test"], m), "negative")
    return b


def manifest(b: Build, repos: dict[str, Repo]) -> bytes:
    doc = {
        "generated_by": "scripts/public_data.py",
        "sources": {n: {"repository": r.repo, "commit": r.commit} for n, r in sorted(repos.items())},
        "files": {p: {"rows": len(b.files[p]), "sha256": hashlib.sha256(b.render(p)).hexdigest(),
                      "dropped": b.dropped[p]} for p in sorted(b.files)},
    }
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mirrors", nargs="+", help="git directories of the snapshots, or folders holding them")
    ap.add_argument("--out", default=str(ROOT), help="repository root to write under (default: this checkout)")
    ap.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing")
    ap.add_argument("--any-commit", action="store_true", help="read each snapshot's HEAD, not the pinned commit")
    args = ap.parse_args(argv)

    repos = open_repos(args.mirrors, args.any_commit)
    b = build(repos)
    out = Path(args.out)
    outputs = {p: b.render(p) for p in sorted(b.files)}
    outputs[MANIFEST] = manifest(b, repos)
    differ = []
    for path, data in outputs.items():
        f = out / path
        if args.check:
            if not f.is_file() or f.read_bytes() != data:
                differ.append(path)
        else:
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(data)
    for path in sorted(b.files):
        extra = ", ".join(f"{k} {v}" for k, v in b.dropped[path].items() if v)
        print(f"{len(b.files[path]):7d}  {path}" + (f"  (dropped: {extra})" if extra else ""))
    if args.check:
        if differ:
            print("DIFFERENT from disk: " + ", ".join(differ), file=sys.stderr)
            return 1
        print("all outputs equal the files on disk")
    return 0


if __name__ == "__main__":
    sys.exit(main())
