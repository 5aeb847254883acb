// What routes need from "the models": the catalog (names in preference order, each with its manifest and
// the directions its config lists), an engine per model on lease, and verified files. Routes only see this
// interface; model-store.ts implements it over R2, worker/testing.ts fakes it for route tests.
import type { Engine } from '../model/engine.ts';
import type { Manifest, ModelFileName, VersionEntry } from '../registry/manifest.ts';
import type { RoutableModel } from '../model/routing.ts';

export interface ServedModel {
  name: string;
  version: string;
  engine: Engine;
  entry: VersionEntry; // manifest entry the files were verified against
}

// One catalogued model as routing and /healthz see it, without loading its weights.
export interface CatalogModel extends RoutableModel {
  manifest: Manifest | null;
  languages: string[]; // of the version that serves (or will): empty when its config is not known
  serving?: string; // version whose files verified and built (loaded now, or before an eviction)
  loaded: boolean; // an engine is in memory
  error?: string; // why the current version is not (or not yet) served, or why nothing is
}

// An engine held for one request: release() lets the memory budget evict it again.
export interface Lease {
  model: ServedModel; // keep this reference for the whole request (a swap may happen meanwhile)
  release(): void;
}

export interface ModelFile {
  body: ReadableStream | Uint8Array<ArrayBuffer>;
  size: number;
  sha256: string;
}

export interface ModelProvider {
  catalog(): Promise<CatalogModel[]>;
  // Loads the model on first use (one load at a time per model); throws ApiError 503 model_unavailable
  // when no version of it verifies, 400 unknown_model when the catalog does not list it.
  acquire(name: string): Promise<Lease>;
  // A listed file whose bytes match the manifest; null when not listed; ApiError 503 when they do not match.
  file(name: string, version: string, file: ModelFileName): Promise<ModelFile | null>;
}
