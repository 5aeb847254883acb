// A route's legs on their engines: every leg's model is leased before anything runs (so the cache key and
// X-Model-Version name every version), the legs before the last are translated in full, and the last one
// is left to the route, which translates or streams it like a direct request. Streaming through a pivot
// therefore streams the second leg only, once the first is done.
import type { TranslateOptions } from '../model/engine.ts';
import type { Route } from '../model/routing.ts';
import { type Control, translateTexts } from '../model/texts.ts';
import type { Lease, ModelProvider, ServedModel } from './model-provider.ts';
import { checkDirection } from './input.ts';

export interface Legs {
  leases: Lease[]; // one per leg, in order
  last: ServedModel;
  name: string; // for the response and the cache: the models, joined by '+' when pivoted
  version: string;
  release(): void;
}

export async function acquireLegs(models: ModelProvider, route: Route): Promise<Legs> {
  const leases: Lease[] = [];
  const release = () => leases.forEach((l) => l.release());
  try {
    for (const leg of route.legs) {
      leases.push(await models.acquire(leg.model));
      checkDirection(leases.at(-1)!.model.engine.info, leg.source, leg.target); // the loaded version may list less
    }
  } catch (e) {
    release();
    throw e;
  }
  return {
    leases,
    last: leases.at(-1)!.model,
    name: leases.map((l) => l.model.name).join('+'),
    version: leases.map((l) => l.model.version).join('+'),
    release,
  };
}

// Translates `texts` through every leg but the last: the last leg's input, and its options.
export async function runFirstLegs(legs: Legs, route: Route, texts: string[], options: TranslateOptions, control: Control = {}) {
  let input = texts;
  for (let i = 0; i < route.legs.length - 1; i++) {
    const { source, target } = route.legs[i];
    input = (await translateTexts(legs.leases[i].model.engine, input, { ...options, source, target }, control)).map((r) => r.translation);
  }
  const { source, target } = route.legs.at(-1)!;
  return { texts: input, options: { ...options, source, target } };
}

// What a pivoted response adds: the pivot language and each leg's model.
export function pivotFields(legs: Legs, route: Route) {
  if (!route.pivot) return {};
  return {
    pivot: route.pivot,
    legs: route.legs.map((l, i) => ({ source: l.source, target: l.target, model: legs.leases[i].model.name, version: legs.leases[i].model.version })),
  };
}
