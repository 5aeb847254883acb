# Writes train/import/fixtures/state.bin (torch.save of a state dict in the zip format HF's
# pytorch_model.bin uses), legacy.bin (the pre-1.6 format, which the reader refuses) and state.json
# (every tensor's dtype, shape and values as torch reads them back) for train/import/torch-bin.test.ts.
# Run with Debian's python3-torch: /usr/bin/python3 scripts/torch-fixture.py
import collections, json, os, torch

out = os.path.join(os.path.dirname(__file__), '..', 'train', 'import', 'fixtures')
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(7)
base = torch.randn(4, 6, generator=g)
shared = torch.randn(5, 3, generator=g)
sd = collections.OrderedDict()
sd['model.encoder.layers.0.fc1.weight'] = base
sd['model.encoder.layers.0.fc1.bias'] = torch.randn(6, generator=g)
sd['transposed'] = base.t()                      # a view with strides (1, 6)
sd['slice'] = base[1:3, 2:5]                     # offset into the same storage, strided
sd['half'] = torch.randn(3, 2, generator=g).half()
sd['bfloat'] = torch.randn(2, 3, generator=g).bfloat16()
sd['double'] = torch.randn(2, generator=g).double()
sd['scalar'] = torch.tensor(1.5)
sd['position_ids'] = torch.arange(7).unsqueeze(0)   # int64 buffer
sd['param'] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
sd['model.shared.weight'] = shared
sd['lm_head.weight'] = shared                    # tied: the same tensor twice
sd['final_logits_bias'] = torch.zeros(1, 5)
sd['empty'] = torch.zeros(0, 3)
torch.save(sd, os.path.join(out, 'state.bin'))
torch.save({'x': torch.ones(2)}, os.path.join(out, 'legacy.bin'), _use_new_zipfile_serialization=False)
back = torch.load(os.path.join(out, 'state.bin'))
expected = {k: {'dtype': str(v.dtype).replace('torch.', ''), 'shape': list(v.shape), 'values': v.detach().double().flatten().tolist()} for k, v in back.items()}
with open(os.path.join(out, 'state.json'), 'w') as f:
    json.dump(expected, f)
print('wrote', out)
