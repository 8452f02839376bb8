/**
 * Worker thread for worker-monitor.ts: runs a 'sync' drift monitor over the batches the main thread transfers,
 * and answers each with the window evaluations it finished, a fresh report, and the batch's buffers (transferred
 * back for reuse). A failing batch is reported as 'failed' (the main thread falls back); any other throw here is
 * an uncaught error the main thread sees as the worker's 'error' event.
 */
import { parentPort } from 'node:worker_threads';
import { createModelMonitor, type ModelMonitor } from './model-monitor.js';
import type { WindowEvaluation } from './types.js';
import type { FromMonitorWorker, ToMonitorWorker } from './worker-monitor.js';

const port = parentPort;
if (!port) throw new Error('monitor-worker.ts must run in a worker thread');

let monitor: ModelMonitor | null = null;
let rowSize = 0;
let numClasses = 0;
let evaluations: WindowEvaluation[] = [];
/** The time the main thread stamped on the batch being observed: evaluations are dated when their window filled. */
let batchTime = new Date(0).toISOString();

port.on('message', (message: ToMonitorWorker) => {
  if (message.type === 'init') {
    const { config, setup } = message;
    rowSize = setup.inputShape.reduce((a, b) => a * b, 1);
    numClasses = setup.numClasses;
    monitor = createModelMonitor(config, {
      ...setup,
      evaluation: 'sync',
      onAlert: () => {}, // the alerts travel inside the evaluations; the main thread raises them
      onEvaluation: (e) => evaluations.push(e),
      now: () => new Date(batchTime),
    });
    return;
  }
  if (message.type !== 'batch') {
    throw new Error(`monitor worker: unknown message type '${(message as { type: unknown }).type}'`);
  }
  if (!monitor) throw new Error('monitor worker: a batch arrived before init');
  const { id, rows, scores, count, time } = message;
  batchTime = time;
  let reply: FromMonitorWorker;
  try {
    monitor.observe(rows.subarray(0, count * rowSize), rowSize, scores.subarray(0, count * numClasses), numClasses);
    reply = { type: 'done', id, rows, scores, evaluations, report: monitor.report() };
  } catch (error) {
    reply = { type: 'failed', message: (error as Error).message };
  }
  evaluations = [];
  port.postMessage(reply, reply.type === 'done' ? [rows.buffer as ArrayBuffer, scores.buffer as ArrayBuffer] : []);
});
