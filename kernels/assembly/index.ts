// The kernel library: every export is a pointer-based kernel (pointers usize, dims i32) that never allocates.
// Dimension legend used in every shape comment:
//   B batch, T time (query/target length), S source/key length, C channels (d_model), H heads,
//   D head size (C = H*D), F feed-forward size, V vocabulary, M rows (= B*T), K in-features, N out-features.
export * from './util';
export * from './matmul';
export * from './quant';
export * from './attention';
export * from './layernorm';
export * from './softmax';
export * from './rdrop';
export * from './activations';
export * from './embedding';
export * from './optim';
