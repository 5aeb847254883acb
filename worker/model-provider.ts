// What routes need from "the model": the one being served, its manifest, and its files. Routes only see
// this interface; model-store.ts implements it over R2, worker/testing.ts fakes it for route tests.
import type { Engine } from '../model/engine.ts';
import type { Manifest, ModelFileName, VersionEntry } from '../model/manifest.ts';

export interface ServedModel {
  name: string;
  version: string;
  engine: Engine;
  entry: VersionEntry; // manifest entry the files were verified against
}

export interface ModelStatus {
  name: string;
  version?: string; // version being served, if any
  error?: string; // why the current version is not (or not yet) being served
}

export interface ModelFile {
  body: ReadableStream;
  size: number;
  sha256: string;
}

export interface ModelProvider {
  readonly name: string;
  // The model to use for this request; keep the reference for the whole request (a swap may happen meanwhile).
  // Throws ApiError 503 model_unavailable when no good version is loaded.
  current(): Promise<ServedModel>;
  status(): ModelStatus;
  manifest(): Promise<Manifest | null>;
  file(version: string, file: ModelFileName): Promise<ModelFile | null>;
}
