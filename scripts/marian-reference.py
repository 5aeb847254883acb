# An independent reference for the Marian (OPUS-MT) import: random tiny MarianMTModel checkpoints in the
# Hugging Face folder layout, and what MarianMTModel computes on them, from a forward pass written here
# in plain torch ops after HF's modeling_marian.py (read, not copied; transformers is not installed).
#
#   /usr/bin/python3 scripts/marian-reference.py [OUT_DIR]   (default train/import/fixtures/marian)
#
# Per config, OUT_DIR/<name>/ holds config.json, generation_config.json, vocab.json and the weights
# (model.safetensors, pytorch_model.bin or both), and OUT_DIR/<name>/expected.json holds source ids,
# decoder input ids, the teacher-forced logits, and greedy and beam outputs.
#
# What MarianMTModel does (HF modeling_marian.py, configuration_marian.py):
# - token embeddings times sqrt(d_model) when scale_embedding, plus sinusoidal positions from 0, the sin
#   of each frequency in the first half of the vector and its cos in the second (not interleaved);
#   positions are not stored in the checkpoint.
# - post-norm layers: x = LN(x + SelfAttn(x)), [x = LN(x + CrossAttn(x, mem))], x = LN(x + fc2(act(fc1(x))));
#   no final LayerNorm on either stack; LayerNorm eps 1e-5; every Linear has a bias.
# - attention: q, k, v, out projections, scaled by head_dim^-0.5; padding keys masked by the tokenizer's
#   attention_mask, i.e. by length (a <pad> id inside a sentence is a token like any other).
# - logits = lm_head(h) + final_logits_bias; lm_head tied to the decoder's token embedding when
#   tie_word_embeddings; separate source and target vocabularies when share_encoder_decoder_embeddings
#   is false (vocab_size and decoder_vocab_size).
# - generation starts from decoder_start_token_id (= pad), never emits bad_words_ids (pad), stops at eos.
#   bad_words_ids leave the softmax (renormalize_logits true, as OPUS-MT's generation configs set it).
#   Beam search: HF's BeamSearchScorer with length_penalty 1.0 and early_stopping false: a finished
#   hypothesis scores sum_logprobs / len(tokens before eos, start token included) ** length_penalty.
import json, math, os, struct, sys
import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'train', 'import', 'fixtures', 'marian')

CONFIGS = [
    dict(name='swish-tied-shared', activation_function='swish', tie_word_embeddings=True, share_encoder_decoder_embeddings=True, scale_embedding=True, vocab_size=40, decoder_vocab_size=40, weights=['model.safetensors']),
    dict(name='gelu-untied-shared', activation_function='gelu', tie_word_embeddings=False, share_encoder_decoder_embeddings=True, scale_embedding=True, vocab_size=40, decoder_vocab_size=40, weights=['pytorch_model.bin']),
    dict(name='relu-separate-noscale', activation_function='relu', tie_word_embeddings=True, share_encoder_decoder_embeddings=False, scale_embedding=False, vocab_size=36, decoder_vocab_size=44, weights=['model.safetensors', 'pytorch_model.bin']),
    dict(name='swish-separate-untied-2x1', activation_function='swish', tie_word_embeddings=False, share_encoder_decoder_embeddings=False, scale_embedding=True, vocab_size=44, decoder_vocab_size=36, encoder_layers=2, decoder_layers=1, weights=['pytorch_model.bin']),
]
D, HEADS, FFN, LAYERS, MAXPOS = 16, 2, 32, 2, 64
EOS, UNK = 0, 1


def act(name, x):
    if name == 'swish':
        return x * torch.sigmoid(x)
    if name == 'gelu':
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name == 'relu':
        return torch.clamp(x, min=0)
    raise ValueError(name)


def sinusoids(n, dim):
    out = torch.empty(n, dim, dtype=torch.float64)
    half = dim // 2
    for pos in range(n):
        for k in range(half):
            angle = pos / (10000 ** (2 * k / dim))
            out[pos, k] = math.sin(angle)
            out[pos, half + k] = math.cos(angle)
    return out.float()


def layer_norm(x, w, b):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-5) * w + b


def linear(sd, prefix, x):
    return x @ sd[prefix + '.weight'].t() + sd[prefix + '.bias']


def attention(sd, prefix, x, kv, key_mask, causal):
    # x (B,T,D), kv (B,S,D), key_mask (B,S) True where a real token
    B, T, _ = x.shape
    S = kv.shape[1]
    hd = D // HEADS
    q = linear(sd, prefix + '.q_proj', x).view(B, T, HEADS, hd).transpose(1, 2)
    k = linear(sd, prefix + '.k_proj', kv).view(B, S, HEADS, hd).transpose(1, 2)
    v = linear(sd, prefix + '.v_proj', kv).view(B, S, HEADS, hd).transpose(1, 2)
    scores = (q @ k.transpose(2, 3)) * hd ** -0.5
    mask = key_mask[:, None, None, :].expand(B, 1, T, S)
    if causal:
        mask = mask & torch.tril(torch.ones(T, S, dtype=torch.bool))[None, None]
    scores = scores.masked_fill(~mask, float('-inf'))
    out = torch.softmax(scores, -1) @ v
    return linear(sd, prefix + '.out_proj', out.transpose(1, 2).reshape(B, T, D))


def embed(table, ids, scale):
    return table[ids] * scale + sinusoids(MAXPOS, D)[: ids.shape[1]][None]


def encode(cfg, sd, src, src_mask):
    scale = math.sqrt(D) if cfg['scale_embedding'] else 1.0
    x = embed(sd['model.encoder.embed_tokens.weight'], src, scale)
    for i in range(cfg.get('encoder_layers', LAYERS)):
        p = f'model.encoder.layers.{i}'
        x = layer_norm(x + attention(sd, p + '.self_attn', x, x, src_mask, False), sd[p + '.self_attn_layer_norm.weight'], sd[p + '.self_attn_layer_norm.bias'])
        h = linear(sd, p + '.fc2', act(cfg['activation_function'], linear(sd, p + '.fc1', x)))
        x = layer_norm(x + h, sd[p + '.final_layer_norm.weight'], sd[p + '.final_layer_norm.bias'])
    return x


def decode(cfg, sd, mem, src_mask, tgt):
    scale = math.sqrt(D) if cfg['scale_embedding'] else 1.0
    y = embed(sd['model.decoder.embed_tokens.weight'], tgt, scale)
    tgt_mask = torch.ones(tgt.shape, dtype=torch.bool)
    for i in range(cfg.get('decoder_layers', LAYERS)):
        p = f'model.decoder.layers.{i}'
        y = layer_norm(y + attention(sd, p + '.self_attn', y, y, tgt_mask, True), sd[p + '.self_attn_layer_norm.weight'], sd[p + '.self_attn_layer_norm.bias'])
        y = layer_norm(y + attention(sd, p + '.encoder_attn', y, mem, src_mask, False), sd[p + '.encoder_attn_layer_norm.weight'], sd[p + '.encoder_attn_layer_norm.bias'])
        h = linear(sd, p + '.fc2', act(cfg['activation_function'], linear(sd, p + '.fc1', y)))
        y = layer_norm(y + h, sd[p + '.final_layer_norm.weight'], sd[p + '.final_layer_norm.bias'])
    return y @ sd['lm_head.weight'].t() + sd['final_logits_bias']


def next_logprobs(cfg, sd, mem, src_mask, prefix, pad, max_len):
    logits = decode(cfg, sd, mem, src_mask, prefix)[:, -1]
    logits[:, pad] = float('-inf')  # bad_words_ids [[pad]]
    lp = torch.log_softmax(logits, -1)
    if prefix.shape[1] == max_len - 1:  # forced_eos_token_id: the last position can only end the sentence
        forced = torch.full_like(lp, float('-inf'))
        forced[:, EOS] = 0
        return forced
    return lp


def greedy(cfg, sd, src, pad, max_len):
    src_mask = torch.ones(1, len(src), dtype=torch.bool)
    mem = encode(cfg, sd, src[None], src_mask)
    out = [pad]
    while len(out) < max_len:
        t = int(next_logprobs(cfg, sd, mem, src_mask, torch.tensor([out]), pad, max_len)[0].argmax())
        out.append(t)
        if t == EOS:
            break
    return out[1:]


def beam(cfg, sd, src, pad, beams, max_len):
    # HF's BeamSearchScorer for one sentence, length_penalty 1.0, early_stopping False. A hypothesis that
    # ends scores sum_logprobs / len(its tokens before eos, start token included).
    src_mask = torch.ones(1, len(src), dtype=torch.bool)
    mem = encode(cfg, sd, src[None], src_mask)
    hyps, scores, done = [[pad]], [0.0], []  # done: (score, tokens with eos)
    while True:
        cur = len(hyps[0])
        lp = torch.stack([next_logprobs(cfg, sd, mem, src_mask, torch.tensor([h]), pad, max_len)[0] for h in hyps])
        total = (lp + torch.tensor(scores)[:, None]).flatten()
        V = lp.shape[1]
        top = torch.topk(total, min(2 * beams, total.numel()))
        nh, ns = [], []
        for rank, (s, idx) in enumerate(zip(top.values.tolist(), top.indices.tolist())):
            if s == float('-inf'):
                break
            b, t = divmod(idx, V)
            if t == EOS:
                if rank < beams:
                    done.append((s / cur, hyps[b][1:] + [EOS]))
                    done.sort(key=lambda d: -d[0])
                    del done[beams:]
            else:
                nh.append(hyps[b] + [t])
                ns.append(s)
            if len(nh) == beams:
                break
        if not nh or cur + 1 >= max_len:
            break
        if len(done) >= beams and done[-1][0] >= top.values[0].item() / cur:
            break
        hyps, scores = nh, ns
    return done[0][1]


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().float().numpy().tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header['__metadata__'] = {'format': 'pt'}
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def build(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape, s=0.4: torch.randn(*shape, generator=g) * s
    V, Vt = cfg['vocab_size'], cfg['decoder_vocab_size']
    sd = {}
    if cfg['share_encoder_decoder_embeddings']:
        shared = r(V, D, s=0.6)
        sd['model.shared.weight'] = shared
        sd['model.encoder.embed_tokens.weight'] = shared
        sd['model.decoder.embed_tokens.weight'] = shared
    else:
        sd['model.encoder.embed_tokens.weight'] = r(V, D, s=0.6)
        sd['model.decoder.embed_tokens.weight'] = r(Vt, D, s=0.6)

    def lin(p, i, o):
        sd[p + '.weight'] = r(o, i)
        sd[p + '.bias'] = r(o, s=0.1)

    def ln(p):
        sd[p + '.weight'] = 1 + r(D, s=0.1)
        sd[p + '.bias'] = r(D, s=0.1)

    for stack, n in (('encoder', cfg.get('encoder_layers', LAYERS)), ('decoder', cfg.get('decoder_layers', LAYERS))):
        for i in range(n):
            p = f'model.{stack}.layers.{i}'
            attns = ['self_attn'] + (['encoder_attn'] if stack == 'decoder' else [])
            for a in attns:
                for proj in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
                    lin(f'{p}.{a}.{proj}', D, D)
                ln(f'{p}.{a}_layer_norm')
            lin(p + '.fc1', D, FFN)
            lin(p + '.fc2', FFN, D)
            ln(p + '.final_layer_norm')
    sd['lm_head.weight'] = sd['model.decoder.embed_tokens.weight'] if cfg['tie_word_embeddings'] else r(Vt, D, s=0.6)
    sd['final_logits_bias'] = r(1, Vt, s=0.2)
    sd['final_logits_bias'][0, EOS] += 1.5  # so that random models end their sentences within max_length
    return sd


def main():
    for n, cfg in enumerate(CONFIGS):
        d = os.path.join(OUT, cfg['name'])
        os.makedirs(d, exist_ok=True)
        V, Vt = cfg['vocab_size'], cfg['decoder_vocab_size']
        pad = min(V, Vt) - 1  # OPUS-MT: pad is the last id of the vocabulary (one id for both sides)
        sd = build(cfg, 100 + n)
        hf = {
            'model_type': 'marian', 'architectures': ['MarianMTModel'], 'd_model': D,
            'encoder_layers': cfg.get('encoder_layers', LAYERS), 'decoder_layers': cfg.get('decoder_layers', LAYERS),
            'encoder_attention_heads': HEADS, 'decoder_attention_heads': HEADS, 'encoder_ffn_dim': FFN, 'decoder_ffn_dim': FFN,
            'activation_function': cfg['activation_function'], 'max_position_embeddings': MAXPOS, 'scale_embedding': cfg['scale_embedding'],
            'vocab_size': V, 'decoder_vocab_size': Vt, 'share_encoder_decoder_embeddings': cfg['share_encoder_decoder_embeddings'],
            'tie_word_embeddings': cfg['tie_word_embeddings'], 'pad_token_id': pad, 'eos_token_id': EOS, 'decoder_start_token_id': pad,
            'forced_eos_token_id': EOS, 'static_position_embeddings': True, 'normalize_before': False, 'dropout': 0.1,
            'attention_dropout': 0.0, 'activation_dropout': 0.0, 'init_std': 0.02, 'num_beams': 3, 'max_length': 16,
            'bad_words_ids': [[pad]], 'torch_dtype': 'float32', 'transformers_version': '4.40.0',
        }
        gen = {'bad_words_ids': [[pad]], 'decoder_start_token_id': pad, 'eos_token_id': EOS, 'forced_eos_token_id': EOS, 'max_length': 16, 'num_beams': 3, 'pad_token_id': pad, 'renormalize_logits': True}
        with open(os.path.join(d, 'config.json'), 'w') as f:
            json.dump(hf, f, indent=2)
        with open(os.path.join(d, 'generation_config.json'), 'w') as f:
            json.dump(gen, f, indent=2)
        vocab = {f'tok{i}': i for i in range(V)}
        vocab.update({'</s>': EOS, '<unk>': UNK, '<pad>': pad})
        with open(os.path.join(d, 'vocab.json'), 'w') as f:
            json.dump(vocab, f)
        if not cfg['share_encoder_decoder_embeddings']:  # MarianTokenizer(separate_vocabs=True)
            target = {f'tok{i}': i for i in range(Vt)}
            target.update({'</s>': EOS, '<unk>': UNK, '<pad>': pad})
            with open(os.path.join(d, 'target_vocab.json'), 'w') as f:
                json.dump(target, f)
        # Saved as HF saves: without positions; safetensors keeps one copy of tied tensors (lm_head and the
        # per-stack embeddings dropped when they alias model.shared / the decoder embedding).
        if 'model.safetensors' in cfg['weights']:
            seen, st = set(), {}
            for k, v in sd.items():
                if id(v) in seen:
                    continue
                seen.add(id(v))
                st[k] = v
            write_safetensors(os.path.join(d, 'model.safetensors'), st)
        if 'pytorch_model.bin' in cfg['weights']:
            torch.save(dict(sd), os.path.join(d, 'pytorch_model.bin'))
        g = torch.Generator().manual_seed(7 + n)
        srcs = [torch.randint(2, V - 1, (L,), generator=g).tolist() + [EOS] for L in (5, 3, 7)]
        S = max(len(s) for s in srcs)
        src = torch.tensor([s + [pad] * (S - len(s)) for s in srcs])
        tgt = torch.cat([torch.full((3, 1), pad), torch.randint(2, Vt - 1, (3, 5), generator=g)], 1)
        with torch.no_grad():
            src_mask = torch.tensor([[i < len(s) for i in range(S)] for s in srcs])
            mem = encode(cfg, sd, src, src_mask)
            logits = decode(cfg, sd, mem, src_mask, tgt)
            expected = {
                'source_ids': srcs,
                'decoder_input_ids': tgt.tolist(),
                'logits_shape': list(logits.shape),
                'logits': [round(x, 6) for x in logits.flatten().tolist()],
                'greedy': [greedy(cfg, sd, torch.tensor(s), pad, 16) for s in srcs],
                'beam3': [beam(cfg, sd, torch.tensor(s), pad, 3, 16) for s in srcs],
            }
        with open(os.path.join(d, 'expected.json'), 'w') as f:
            json.dump(expected, f)
        print('wrote', d)


if __name__ == '__main__':
    main()
