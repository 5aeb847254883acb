// Which model serves a direction, one rule for every host (the worker's catalog, `mt translate`'s bundled
// models): the first model, in preference order, that lists the direction in its config serves it directly;
// a direction no model serves directly goes through English (fr->de = fr->en, then en->de), each leg served
// by the first model listing it. A request naming a model is routed the same way over that model alone.
import { serves } from './engine.ts';

export const PIVOT = 'en';

export interface RoutableModel {
  name: string;
  directions: Array<[string, string]>; // from the model's config.json
}

export interface Leg {
  model: string;
  source: string;
  target: string;
}

export interface Route {
  legs: Leg[]; // one leg (direct) or two (through the pivot)
  pivot?: string;
}

export interface Pair {
  source: string;
  target: string;
  route: Route;
}

const firstServing = (models: RoutableModel[], source: string, target: string) => models.find((m) => serves(m.directions, source, target));

export function findRoute(models: RoutableModel[], source: string, target: string): Route | undefined {
  const direct = firstServing(models, source, target);
  if (direct) return { legs: [{ model: direct.name, source, target }] };
  if (source === target || source === PIVOT || target === PIVOT) return undefined;
  const into = firstServing(models, source, PIVOT);
  const out = firstServing(models, PIVOT, target);
  if (!into || !out) return undefined;
  return { legs: [{ model: into.name, source, target: PIVOT }, { model: out.name, source: PIVOT, target }], pivot: PIVOT };
}

// Languages any model translates from or into, sorted.
export function routableLanguages(models: RoutableModel[]): string[] {
  return [...new Set(models.flatMap((m) => m.directions.flat()))].sort();
}

// Every direction some route serves: direct ones first (in the models' order), then the pivoted ones.
export function allPairs(models: RoutableModel[]): Pair[] {
  const langs = routableLanguages(models);
  const pairs: Pair[] = [];
  const seen = new Set<string>();
  const add = (source: string, target: string) => {
    const route = findRoute(models, source, target);
    if (route && !seen.has(`${source}-${target}`)) {
      seen.add(`${source}-${target}`);
      pairs.push({ source, target, route });
    }
  };
  for (const m of models) for (const [s, t] of m.directions) add(s, t);
  for (const s of langs) for (const t of langs) add(s, t);
  return pairs;
}

// "en-de, de-en, fr-de (via en)": what error messages list as supported.
export function describePairs(models: RoutableModel[]): string {
  return allPairs(models).map((p) => `${p.source}-${p.target}${p.route.pivot ? ` (via ${p.route.pivot})` : ''}`).join(', ');
}
