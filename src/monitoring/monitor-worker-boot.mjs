// Starts monitor-worker.ts in a worker thread when Aegis runs from TypeScript sources under tsx:
// worker threads do not inherit tsx's loader, so register it here before importing the entry
// (same as src/attacks/membership/shadow-worker-boot.mjs).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
