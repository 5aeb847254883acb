// Several models in the browser, served as the API serves them: a direction goes to the first model serving
// it, else through English (model/routing.ts, the function the worker and `mt translate` use); only the
// model(s) a direction needs are downloaded, when a request first needs them, once each (concurrent requests
// share the load); source "auto" is detected with the bundled language identifier (model/langid.ts), as
// POST /v1/translate does. Results have the API's shape: through a pivot `model` and `version` join the
// legs' with '+', and `pivot` and `legs` say how it went; with "auto", `detected` says what was found.
import { Client } from '../client/index.ts';
import type { BatchTranslation, Languages, LocalTranslator, StreamEvent, TranslateParams, Translation } from '../client/types.ts';
import { serves } from '../model/engine.ts';
import { LanguageDetector, detectSource } from '../model/langid.ts';
import { type TextFlags, detectedField, mergeFlags, servedBy } from '../model/response.ts';
import { type RoutableModel, type Route, allPairs, describePairs, findRoute, routableLanguages } from '../model/routing.ts';
import { cleanText } from './protocol.ts';
import { EngineError, type LoadOptions, type LoadProgress, Translator, fetchOk } from './translator.ts';

export interface CatalogModel extends RoutableModel {
  url: string | URL; // the model folder: config.json, tokenizer.json, weights.safetensors
  version?: string; // as the API names it (languages() echoes it)
}

export interface ModelProgress extends LoadProgress {
  model: string; // which model is downloading
}

export interface CatalogOptions extends Omit<LoadOptions, 'onProgress' | 'signal'> {
  onProgress?: (p: ModelProgress) => void;
  // The language identifier for source "auto" (models/langid.json), fetched on the first such request.
  langidUrl?: string | URL;
}

// With source "auto": the language found and its posterior (3 decimals), as the API reports it.
export interface Detected {
  language: string;
  confidence: number;
}
export type CatalogTranslation = Translation & { detected?: Detected };
export type CatalogBatchTranslation = BatchTranslation & { detected?: Detected };

// One request planned: its last leg on its Translator (the earlier legs already translated), and how the
// last leg's result becomes the response.
interface Plan {
  translator: Translator;
  texts: string[];
  params: TranslateParams;
  shape<T extends Translation | BatchTranslation>(r: T): T & { detected?: Detected };
}

const disposed = () => new EngineError('disposed', 'the catalog was disposed');

export class Catalog implements LocalTranslator {
  readonly models: CatalogModel[]; // preference order: a direction goes to the first model serving it
  private readonly opts: CatalogOptions;
  private readonly loads = new Map<string, Promise<Translator>>();
  private readonly ready = new Map<string, Translator>();
  private detector: Promise<LanguageDetector> | null = null;
  private dead = false;

  constructor(models: CatalogModel[], opts: CatalogOptions = {}) {
    if (!models.length) throw new EngineError('model_unavailable', 'the catalog lists no model');
    this.models = models;
    this.opts = opts;
  }

  // The API's catalog: GET /v1/languages names each model, the version it serves and its directions; the
  // files download from GET /v1/models/:name/:version/:file with the client's headers (its API key).
  static async fromApi(api: string | Client, opts: CatalogOptions = {}): Promise<Catalog> {
    const client = typeof api === 'string' ? new Client({ baseUrl: api, fetch: opts.fetch, headers: opts.headers }) : api;
    const listed = (await client.languages()).models.filter((m) => m.version !== undefined);
    const models = listed.map((m) => ({
      name: m.name,
      version: m.version,
      directions: m.directions.map((d): [string, string] => [d.source, d.target]),
      url: client.modelUrl(m.name, m.version!),
    }));
    return new Catalog(models, { ...opts, headers: { ...client.headers(), ...opts.headers } });
  }

  // Model folders served as static files (base/<name>/config.json, ...), `names` in preference order: each
  // config.json is read now for its directions, the weights only when a direction needs them.
  static async fromFolders(base: string | URL, names: string[], opts: CatalogOptions = {}): Promise<Catalog> {
    const root = new URL(String(base).replace(/\/?$/, '/'), globalThis.location?.href);
    const models = await Promise.all(
      names.map(async (name): Promise<CatalogModel> => {
        const url = new URL(`${encodeURIComponent(name)}/`, root);
        const { directions } = (await (await fetchOk(new URL('config.json', url), opts)).json()) as { directions?: unknown };
        const ok = Array.isArray(directions) && directions.length > 0 && directions.every((d) => Array.isArray(d) && d.length === 2 && d.every((l) => typeof l === 'string'));
        if (!ok) throw new EngineError('bad_model', `${url}config.json: "directions" must list [source, target] pairs`);
        return { name, directions: directions as Array<[string, string]>, url };
      }),
    );
    return new Catalog(models, opts);
  }

  // What GET /v1/languages says of the same models: every direction, direct or through English.
  languages(): Languages {
    return {
      languages: routableLanguages(this.models),
      directions: allPairs(this.models).map(({ source, target, route }) => ({
        source,
        target,
        route: route.pivot ? ('pivot' as const) : ('direct' as const),
        models: route.legs.map((l) => l.model),
        ...(route.pivot ? { pivot: route.pivot } : {}),
      })),
      models: this.models.map((m) => ({
        name: m.name,
        ...(m.version !== undefined ? { version: m.version } : {}),
        directions: m.directions.map(([source, target]) => ({ source, target })),
      })),
    };
  }

  // The route of a direction over the catalog (or over the named model alone), undefined if none.
  route(source: string, target: string, model?: string): Route | undefined {
    return findRoute(this.routable(model), source, target);
  }

  // A model's Translator, downloaded on first use; calls meanwhile share the one load, a failed load is
  // forgotten (the next call tries again).
  load(name: string): Promise<Translator> {
    if (this.dead) return Promise.reject(disposed());
    const known = this.loads.get(name);
    if (known) return known;
    const m = this.models.find((x) => x.name === name);
    if (!m) return Promise.reject(new EngineError('unknown_model', `no model '${name}' in the catalog; models: ${this.models.map((x) => x.name).join(', ')}`));
    const { onProgress, langidUrl: _, ...rest } = this.opts;
    const loading = Translator.load(m.url, { ...rest, onProgress: onProgress && ((p) => onProgress({ ...p, model: name })) }).then(
      (t) => {
        if (this.dead) {
          t.dispose();
          throw disposed();
        }
        this.ready.set(name, t);
        return t;
      },
      (e) => {
        this.loads.delete(name);
        throw e;
      },
    );
    this.loads.set(name, loading);
    return loading;
  }

  // Models in memory, in the order they finished loading.
  loaded(): string[] {
    return [...this.ready.keys()];
  }

  // The kernels the loaded models run ('relaxed' or 'simd'); undefined before the first load.
  get flavor(): string | undefined {
    return this.ready.values().next().value?.flavor;
  }

  translate(text: string, params: TranslateParams): Promise<CatalogTranslation>;
  translate(texts: string[], params: TranslateParams): Promise<CatalogBatchTranslation>;
  async translate(text: string | string[], params: TranslateParams): Promise<CatalogTranslation | CatalogBatchTranslation> {
    const batch = Array.isArray(text);
    const plan = await this.plan(batch ? text : [text], params);
    if (batch) return plan.shape(await plan.translator.translate(plan.texts, plan.params));
    return plan.shape(await plan.translator.translate(plan.texts[0], plan.params));
  }

  // Token events of the last leg as it decodes (through a pivot: once the first leg is done), then `done`.
  async *stream(text: string | string[], params: TranslateParams): AsyncGenerator<StreamEvent> {
    const batch = Array.isArray(text);
    const plan = await this.plan(batch ? text : [text], params);
    for await (const e of plan.translator.stream(batch ? plan.texts : plan.texts[0], plan.params)) {
      yield e.type === 'done' ? { type: 'done', result: plan.shape(e.result) } : e;
    }
  }

  // Stops every model's worker; pending and later calls fail.
  dispose(): void {
    this.dead = true;
    for (const t of this.ready.values()) t.dispose();
    this.ready.clear();
    this.loads.clear();
  }

  private routable(model?: string): CatalogModel[] {
    if (model === undefined) return this.models;
    const one = this.models.filter((m) => m.name === model);
    if (!one.length) throw new EngineError('unknown_model', `no model '${model}' in the catalog; models: ${this.models.map((m) => m.name).join(', ')}`);
    return one;
  }

  // Detects "auto", routes, checks what a route cannot do before any download, loads the legs' models and
  // translates every leg but the last (as worker/legs.ts does).
  private async plan(texts: string[], params: TranslateParams): Promise<Plan> {
    if (this.dead) throw disposed();
    const models = this.routable(params.model);
    const detected = params.source === 'auto' ? await this.detect(texts.map(cleanText), models, params.target) : undefined;
    const source = detected?.language ?? params.source;
    const route = findRoute(models, source, params.target);
    if (!route) throw unroutable(models, source, params.target);
    if (params.alignments && route.pivot) {
      throw new EngineError('alignments_unavailable', `alignments need a direct model; ${source}-${params.target} goes through ${route.pivot}`);
    }
    if (params.rerank) {
      for (const leg of route.legs) {
        if (!serves(models.find((m) => m.name === leg.model)!.directions, leg.target, leg.source)) {
          throw new EngineError('rerank_unavailable', `rerank needs the reverse direction ${leg.target}-${leg.source}, which model ${leg.model} does not serve`);
        }
      }
    }
    const translators = await Promise.all(route.legs.map((l) => this.load(l.model)));
    let input = texts;
    const earlier: TextFlags[] = []; // a text cut on the way is cut in the response
    for (const [i, leg] of route.legs.slice(0, -1).entries()) {
      const r = await translators[i].translate(input, { ...params, source: leg.source, target: leg.target });
      input = r.translations;
      earlier.push(r);
    }
    const last = route.legs.at(-1)!;
    const legs = route.legs.map((l, i) => ({ source: l.source, target: l.target, model: l.model, version: translators[i].info.version }));
    const named = { ...servedBy(legs, route.pivot), ...(detected ? { detected } : {}) };
    return {
      translator: translators.at(-1)!,
      texts: input,
      params: { ...params, source: last.source, target: last.target },
      shape: (r) => ({ ...r, ...named, ...mergeFlags([r, ...earlier]) }),
    };
  }

  private async detect(texts: string[], models: CatalogModel[], target: string): Promise<Detected> {
    this.detector ??= this.fetchDetector().catch((e) => {
      this.detector = null; // try again on the next request
      throw e;
    });
    const reachable = allPairs(models).map((p): [string, string] => [p.source, p.target]);
    const d = detectSource(await this.detector, texts, reachable, target);
    if (!d) {
      throw new EngineError('language_not_detected', reachable.some(([, t]) => t === target)
        ? 'source "auto": the text has no letters to tell its language by; give source explicitly'
        : `source "auto": nothing translates into '${target}'; supported directions: ${describePairs(models)}`);
    }
    return detectedField(d);
  }

  private async fetchDetector(): Promise<LanguageDetector> {
    const url = new URL(String(this.opts.langidUrl ?? new URL('../models/langid.json', import.meta.url)), globalThis.location?.href);
    return LanguageDetector.fromJSON(await (await fetchOk(url, this.opts)).text());
  }
}

// Why no route serves a direction: a language no model knows, else the direction (with what is supported).
function unroutable(models: RoutableModel[], source: string, target: string): EngineError {
  const langs = routableLanguages(models);
  for (const [role, lang] of [['source', source], ['target', target]]) {
    if (!langs.includes(lang)) return new EngineError('unsupported_language', `${role} language '${lang}' is not supported; supported languages: ${langs.join(', ')}`);
  }
  return new EngineError('unsupported_direction', `direction ${source}-${target} is not supported; supported directions: ${describePairs(models)}`);
}
