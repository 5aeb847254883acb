// A route's legs on their engines: every leg's model is leased before anything runs (so the cache key and
// X-Model-Version name every version), the legs before the last are translated in full, and the last one
// is left to the route, which translates or streams it like a direct request. Streaming through a pivot
// therefore streams the second leg only, once the first is done.
import type { TranslateOptions } from '../model/engine.ts';
import type { Route } from '../model/routing.ts';
import { type TextFlags, flagsOf } from '../model/response.ts';
import { type Control, nextLegWork, planTexts, translatePlans } from '../model/texts.ts';
import type { z } from '@hono/zod-openapi';
import type { Leg } from './schemas.ts';
import type { Lease, ModelProvider, ServedModel } from './model-provider.ts';
import { checkDirection } from './input.ts';

export interface Legs {
  leases: Lease[]; // one per leg, in order
  last: ServedModel;
  served: Array<z.infer<typeof Leg>>; // each leg's direction, model and version: what the response names (model/response.ts)
  name: string; // for the cache and X-Model-Version: the models, joined by '+' when pivoted
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
    served: route.legs.map((l, i) => ({ source: l.source, target: l.target, model: leases[i].model.name, version: leases[i].model.version })),
    name: leases.map((l) => l.model.name).join('+'),
    version: leases.map((l) => l.model.version).join('+'),
    release,
  };
}

// Translates `texts` through every leg but the last: the last leg's input, its options, and what the
// earlier legs flagged (a text cut on the way is cut in the response: model/response.ts).
// The budget is charged for each leg before the first decodes: this leg as planned, the next as estimated
// from this one's longest output (nextLegWork), which the next leg's real charge replaces when it is planned.
export async function runFirstLegs(legs: Legs, route: Route, texts: string[], options: TranslateOptions, control: Control = {}) {
  let input = texts;
  const flags: TextFlags[] = [];
  const optionsOf = (i: number) => ({ ...options, source: route.legs[i].source, target: route.legs[i].target });
  let ahead = 0; // work charged for the next leg before it is planned
  for (let i = 0; i < route.legs.length - 1; i++) {
    const engine = legs.leases[i].model.engine;
    const plans = planTexts(engine, input, optionsOf(i), control);
    control.budget?.refund(ahead);
    ahead = nextLegWork(plans, engine, optionsOf(i), legs.leases[i + 1].model.engine, optionsOf(i + 1));
    control.budget?.spend(ahead, 0, engine.decodeOptions(optionsOf(i)).extraSteps);
    const results = await translatePlans(engine, plans, optionsOf(i), control);
    flags.push(flagsOf(results));
    input = results.map((r) => r.translation);
  }
  control.budget?.refund(ahead);
  return { texts: input, options: optionsOf(route.legs.length - 1), flags };
}
