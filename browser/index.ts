// The in-browser engine: one model (`Translator.load(url)`, translator.ts), or the catalog of several routed
// and pivoted as the API does (`Catalog.fromApi(url)` / `Catalog.fromFolders(base, names)`, catalog.ts).
export { EngineError, Translator, type LoadOptions, type LoadProgress, type WorkerLike } from './translator.ts';
export type { BatchTranslation, StreamEvent, TranslateParams, Translation } from './translator.ts';
export { Catalog, type CatalogBatchTranslation, type CatalogModel, type CatalogOptions, type CatalogTranslation, type Detected, type ModelProgress } from './catalog.ts';
