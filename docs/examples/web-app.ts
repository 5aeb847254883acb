import { createClient } from '@edge-mt/client';     // typed API client: retries 429/503, SSE streaming
const api = createClient({ baseUrl: 'https://mt.example.com', apiKey: 'YOUR_KEY' });
const { translation } = await api.translate('Hello.', { source: 'en', target: 'de' });
const batch = await api.translate(['Hello.', 'Good night.'], { source: 'en', target: 'de' });
for await (const ev of api.stream('Hello.', { source: 'en', target: 'de' })) {
  if (ev.type === 'token') console.log(ev.index, ev.piece);
}

import { Catalog } from '@edge-mt/browser';           // same wasm + models, offline, in a Web Worker
const local = await Catalog.fromApi('https://mt.example.com'); // routes as the API does, loads a model on first use
const offline = await local.translate('Hello.', { source: 'en', target: 'de' });
console.log(translation, batch.translations, offline.translation);
