// worker_threads entry: one data-parallel replica over the trainer's shared wasm memory.
import { parentPort, workerData } from 'node:worker_threads';
import { type Job, makeRunner, type ReplicaSpec } from './replica.ts';

const run = makeRunner(workerData as ReplicaSpec);
parentPort!.postMessage('ready');
parentPort!.on('message', (job: Job) => {
  try {
    parentPort!.postMessage(run(job));
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message });
  }
});
