// Every tolerance the kernel tests use, in one place. Relative to max(1, |reference|) unless noted.
export const TOL = {
  // SIMD reorders f32 sums; K up to ~1000 terms of unit-variance products.
  matmul: 2e-5,
  attention: 2e-5,
  layernorm: 2e-5,
  // Gradients summed over N ~ 1000 rows in f32 (layernorm dweight/dbias, embedding dwte with repeated ids,
  // as llm.c does): partial sums reach ~sqrt(N), so the error is ~sqrt(N) ulps of that.
  grad_rowsum: 2e-4,
  softmax: 1e-6,
  // log-probabilities x - logsumexp stored in f32 (the sum of f32 exponentials in f64)
  logprobs: 1e-6,
  crossentropy: 1e-5,
  elementwise: 1e-6,
  embedding: 1e-6,
  adam: 1e-6,
  // ONNX export (train/onnx) run by onnxruntime vs the training graph and the engine's f32 path:
  // log-probabilities of the same model, summed in other orders (measured up to ~7e-7 on micro models).
  onnx_logprobs: 2e-5,
  // One f32 model run by the training graph, teacher forcing and incremental decoding (train/parity.test.ts):
  // the same kernels over other row counts and cache layouts, so sums in other orders (measured ~3e-7).
  model_logprobs: 2e-6,
  // The int8 engine against the f32 one on a random micro model: per-row weight and activation grids
  // (measured ~1.4e-2).
  int8_logprobs: 0.05,
  // An imported Marian model (train/import) in the f32 engine against scripts/marian-reference.py's torch
  // forward: max |difference| of the next-token log-probabilities of the reference's teacher-forced inputs
  // (measured 4e-6 to 8e-5, transformers' 'gelu' run as our exact 'gelu_erf' 7e-6; the reference itself
  // moves by up to 3e-5 between two torch BLAS builds).
  marian_logprobs: 2e-4,
  // After mt quantize (int8): the MEAN |difference| of those log-probabilities (measured 0.06 to 0.27 on
  // the reference's random d_model-16 models, whose near one-hot attention int8 noise can flip; their max
  // reaches 4). Outputs are compared by BLEU instead.
  marian_int8_logprobs: 0.5,
  // finite differences (central, h = 1e-2 on f64 references or 1e-3 on f32 kernels)
  gradcheck: 2e-2,
} as const;
