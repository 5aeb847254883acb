import { describe, expect, it } from 'vitest';
import { allPairs, describePairs, findRoute } from './routing.ts';

const ende = { name: 'ende', directions: [['en', 'de'], ['de', 'en']] as Array<[string, string]> };
const general = { name: 'general', directions: [['en', 'de'], ['en', 'fr'], ['fr', 'en'], ['cs', 'en']] as Array<[string, string]> };

describe('routing', () => {
  it('serves a direction with the first model listing it, in preference order', () => {
    expect(findRoute([ende, general], 'en', 'de')).toEqual({ legs: [{ model: 'ende', source: 'en', target: 'de' }] });
    expect(findRoute([general, ende], 'en', 'de')).toEqual({ legs: [{ model: 'general', source: 'en', target: 'de' }] });
  });

  it('goes through English when no model serves a direction, each leg on its own first model', () => {
    expect(findRoute([ende, general], 'fr', 'de')).toEqual({
      legs: [{ model: 'general', source: 'fr', target: 'en' }, { model: 'ende', source: 'en', target: 'de' }],
      pivot: 'en',
    });
    expect(findRoute([ende, general], 'de', 'cs')).toBeUndefined(); // nothing translates en -> cs
    expect(findRoute([ende, general], 'de', 'de')).toBeUndefined();
  });

  it('lists every reachable pair, direct ones first', () => {
    const pairs = allPairs([ende, general]).map((p) => `${p.source}-${p.target}${p.route.pivot ? '*' : ''}`);
    expect(pairs).toEqual(['en-de', 'de-en', 'en-fr', 'fr-en', 'cs-en', 'cs-de*', 'cs-fr*', 'de-fr*', 'fr-de*']);
    expect(describePairs([ende])).toBe('en-de, de-en');
  });
});
