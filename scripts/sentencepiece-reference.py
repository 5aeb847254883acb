#!/usr/bin/python3
"""Reference encodings from Debian's python3-sentencepiece, for model/sentencepiece.test.ts.

Trains small SentencePiece models (unigram and BPE, with and without byte_fallback, nmt_nfkc and
identity normalizers) on a slice of the shared corpora, then writes every model with the ids
sentencepiece gives for test sentences and random Unicode strings.

  /usr/bin/python3 scripts/sentencepiece-reference.py --data DIR --out DIR [--per-lang N] [--fixture]

--data DIR   the shared data root (general/*.tsv.gz and multi30k/), as $MT_DATA
--out DIR    where MODEL.model, MODEL.tokenizer.json (unigram) and cases.json go (gzipped with --fixture)
--per-lang N test sentences per language (default 20000); random strings are always 2000
--fixture    the small committed fixture: 3 models, 40 sentences per language, 200 random strings

cases.json: {"texts": [...], "models": {"NAME": [[ids of text 0], ...]}, "decode": {"NAME": [[ids, text], ...]}};
the texts are sentences of en, de, fr, es, cs (not used for training), then the random strings; the
decode cases are random id runs, then the ids of the random strings.
"""
import argparse, base64, gzip, json, os, random, sys

import sentencepiece as spm

LANGS = ['en', 'de', 'fr', 'es', 'cs']

# name -> trainer options. Small vocabularies keep the files small and make unknowns and byte
# fallback frequent; user-defined symbols exercise the prefix matcher of normalizer and BPE.
MODELS = {
    'unigram-nfkc': dict(model_type='unigram', vocab_size=1500),
    'unigram-nfkc-bytes': dict(model_type='unigram', vocab_size=1500, byte_fallback=True,
                               user_defined_symbols=['<2de>', '<2en>', 'ﬁx']),
    'unigram-identity': dict(model_type='unigram', vocab_size=1000, normalization_rule_name='identity'),
    'unigram-raw-spaces': dict(model_type='unigram', vocab_size=1000, normalization_rule_name='nmt_nfkc_cf',
                               add_dummy_prefix=False, remove_extra_whitespaces=False, byte_fallback=True),
    'bpe-nfkc': dict(model_type='bpe', vocab_size=1500),
    'bpe-nfkc-bytes': dict(model_type='bpe', vocab_size=1500, byte_fallback=True, user_defined_symbols=['<2de>', 'ﬁx']),
    'bpe-identity': dict(model_type='bpe', vocab_size=1000, normalization_rule_name='identity', byte_fallback=True),
    'bpe-raw-spaces': dict(model_type='bpe', vocab_size=1000, add_dummy_prefix=False, remove_extra_whitespaces=False),
}
FIXTURE_MODELS = ['unigram-nfkc-bytes', 'bpe-identity', 'unigram-identity']


def column_lines(data, lang):
    """All sentences of `lang`: its column of every general/en<xx>.*.tsv.gz, then multi30k/train.<lang>.gz."""
    out = []
    gen = os.path.join(data, 'general')
    for f in sorted(os.listdir(gen)):
        if not f.endswith('.tsv.gz') or '.valid.' in f or 'lexicon' in f:
            continue
        pair = f.split('.')[0]  # en<xx>
        col = 0 if lang == 'en' else 1 if pair == 'en' + lang else None
        if col is None:
            continue
        with gzip.open(os.path.join(gen, f), 'rt', encoding='utf-8') as fh:
            for line in fh:
                cols = line.rstrip('\n').split('\t')
                if len(cols) > col and cols[col].strip():
                    out.append(cols[col])
    m30k = os.path.join(data, 'multi30k', f'train.{lang}.gz')
    if os.path.exists(m30k):
        with gzip.open(m30k, 'rt', encoding='utf-8') as fh:
            out.extend(line.rstrip('\n') for line in fh if line.strip())
    return out


def random_strings(rng, n):
    """Strings built to hit normalizer and encoder corners: emoji (with ZWJ and variation selectors),
    combining marks, CJK, controls, NFKC-sensitive and full-width forms, many kinds and runs of spaces."""
    pools = [
        (0x20, 0x7e), (0xa0, 0x17f), (0x300, 0x36f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x6ff),
        (0x900, 0x97f), (0xe00, 0xe7f), (0x1100, 0x11ff), (0x2000, 0x206f), (0x2070, 0x218f),
        (0x2460, 0x24ff), (0x2e80, 0x2fdf), (0x3000, 0x30ff), (0x3200, 0x33ff), (0x4e00, 0x9fff),
        (0xac00, 0xd7a3), (0xe000, 0xe0ff), (0xf900, 0xfaff), (0xfb00, 0xfb4f), (0xfe00, 0xfe0f),
        (0xfe30, 0xfe6f), (0xff00, 0xffef), (0xfff0, 0xffff), (0x1d400, 0x1d7ff), (0x1f000, 0x1faff),
        (0x20000, 0x2a6df), (0xe0000, 0xe007f), (0x10fff0, 0x10ffff), (0x0, 0x1f), (0x7f, 0x9f),
    ]
    spaces = [' ', '  ', '   ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2002', '\u200b', '\ufeff', '\u2581', ' \u2581 ']
    words = ['the', 'Haus', 'été', 'niño', 'příliš', 'ﬁnal', 'Ⅻ', '①', 'ｆｕｌｌ', '㍿', 'é', 'ñ', '👩‍👩‍👧', '🇩🇪', '<2de>', 'ﬁx']
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 12)):
            r = rng.random()
            if r < 0.25:
                parts.append(rng.choice(spaces))
            elif r < 0.45:
                parts.append(rng.choice(words))
            else:
                lo, hi = rng.choice(pools)
                parts.append(''.join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 4))))
        s = ''.join(parts)
        out.append(''.join(c for c in s if not 0xd800 <= ord(c) <= 0xdfff))
    return out


def hf_json(sp, opts, charsmap):
    """The Hugging Face tokenizer.json that transformers' SpmConverter writes for a unigram model
    (Marian, T5): Precompiled normalizer, Metaspace pre-tokenizer, Unigram [piece, score] vocab."""
    vocab = [[sp.id_to_piece(i), sp.get_score(i)] for i in range(sp.get_piece_size())]
    added = [{'id': i, 'content': sp.id_to_piece(i), 'single_word': False, 'lstrip': False, 'rstrip': False,
              'normalized': False, 'special': True}
             for i in range(sp.get_piece_size()) if sp.is_control(i) or sp.is_unknown(i)]
    added += [{'id': sp.piece_to_id(p), 'content': p, 'single_word': False, 'lstrip': False, 'rstrip': False,
               'normalized': False, 'special': False} for p in opts.get('user_defined_symbols', [])]
    normalizers = []
    if charsmap:
        normalizers.append({'type': 'Precompiled', 'precompiled_charsmap': base64.b64encode(charsmap).decode()})
    if opts.get('remove_extra_whitespaces', True):
        normalizers.append({'type': 'Replace', 'pattern': {'Regex': ' {2,}'}, 'content': ' '})
    prepend = 'always' if opts.get('add_dummy_prefix', True) else 'never'
    return {
        'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added,
        'normalizer': {'type': 'Sequence', 'normalizers': normalizers},
        'pre_tokenizer': {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': prepend, 'split': True},
        'post_processor': None,
        'decoder': {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': prepend, 'split': True},
        'model': {'type': 'Unigram', 'unk_id': sp.unk_id(), 'vocab': vocab,
                  'byte_fallback': bool(opts.get('byte_fallback', False))},
    }


def charsmap_of(model_bytes):
    """NormalizerSpec.precompiled_charsmap (ModelProto field 3, field 2), read by hand: Debian's
    python3-sentencepiece does not depend on protobuf."""
    def varint(b, i):
        v = s = 0
        while True:
            c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
            if c < 0x80: return v, i

    def fields(b):
        i = 0
        while i < len(b):
            key, i = varint(b, i)
            wt = key & 7
            if wt == 0: _, i = varint(b, i); continue
            if wt == 5: i += 4; continue
            if wt == 1: i += 8; continue
            n, i = varint(b, i)
            yield key >> 3, b[i:i + n]; i += n

    for f, body in fields(model_bytes):
        if f == 3:
            for g, v in fields(body):
                if g == 2: return v
    return b''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--per-lang', type=int, default=20000)
    ap.add_argument('--fixture', action='store_true')
    a = ap.parse_args()
    rng = random.Random(20261204)
    os.makedirs(a.out, exist_ok=True)
    per_lang = 40 if a.fixture else a.per_lang
    train_lines, test_lines = [], []
    for lang in LANGS:
        lines = column_lines(a.data, lang)
        rng.shuffle(lines)
        train_lines += lines[:4000]  # the first 4000 train, the rest test (even-spaced sample)
        rest = lines[4000:]
        step = max(1, len(rest) // per_lang)
        test_lines += rest[::step][:per_lang]
        if len(rest[::step][:per_lang]) < per_lang:
            sys.exit(f'{lang}: only {len(rest)} sentences after training ones, need {per_lang}')
    texts = test_lines + random_strings(rng, 200 if a.fixture else 2000)
    train_file = os.path.join(a.out, 'train.txt')
    with open(train_file, 'w', encoding='utf-8') as fh:
        fh.write('\n'.join(train_lines) + '\n')
    names = FIXTURE_MODELS if a.fixture else list(MODELS)
    cases = {'texts': texts, 'models': {}, 'decode': {}}
    for name in names:
        opts = MODELS[name]
        prefix = os.path.join(a.out, name)
        spm.SentencePieceTrainer.train(input=train_file, model_prefix=prefix, hard_vocab_limit=False,
                                       num_threads=2, minloglevel=2, **opts)
        os.remove(prefix + '.vocab')
        with open(prefix + '.model', 'rb') as fh:
            model_bytes = fh.read()
        sp = spm.SentencePieceProcessor(model_proto=model_bytes)
        ids = sp.encode(texts)
        cases['models'][name] = ids
        # Decoding: what the random strings encode to, and random id runs (controls, <unk>, byte pieces
        # that make malformed UTF-8).
        byte_ids = [i for i in range(sp.get_piece_size()) if sp.is_byte(i)]
        runs = [[rng.choice(byte_ids) if byte_ids and rng.random() < 0.5 else rng.randrange(sp.get_piece_size())
                 for _ in range(rng.randint(0, 12))] for _ in range(100 if a.fixture else 1000)]
        runs += ids[len(test_lines):]
        cases['decode'][name] = [[r, sp.decode(r)] for r in runs]
        charsmap = charsmap_of(model_bytes)
        if opts['model_type'] == 'unigram' and not (a.fixture and charsmap):  # a charsmap is ~350 KB of JSON
            with open(prefix + '.tokenizer.json', 'w', encoding='utf-8') as fh:
                json.dump(hf_json(sp, opts, charsmap), fh, ensure_ascii=False)
    os.remove(train_file)
    with open(os.path.join(a.out, 'cases.json'), 'w', encoding='utf-8') as fh:
        json.dump(cases, fh, ensure_ascii=False, separators=(',', ':'))
    if a.fixture:  # committed: gzip every file (mtime 0, so a rerun writes the same bytes)
        for f in sorted(os.listdir(a.out)):
            path = os.path.join(a.out, f)
            if f.endswith('.gz'):
                continue
            with open(path, 'rb') as src, open(path + '.gz', 'wb') as raw:
                with gzip.GzipFile(filename='', mode='wb', fileobj=raw, mtime=0) as dst:
                    dst.write(src.read())
            os.remove(path)
    print(f'{len(names)} models, {len(texts)} texts -> {a.out}', file=sys.stderr)


if __name__ == '__main__':
    main()
