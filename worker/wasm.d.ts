// Wrangler (and the vitest workers pool) bundle `.wasm` imports as precompiled modules: workerd forbids
// compiling wasm at run time, so this is the only way in.
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
