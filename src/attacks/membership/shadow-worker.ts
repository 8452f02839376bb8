/** Worker thread for shadow-training.ts: trains the shadows it is sent, one at a time. */
import { parentPort } from 'node:worker_threads';
import { AegisInputError } from '../../core/errors.js';
import {
  type FromWorker,
  type ShadowPool,
  type ShadowQueries,
  type ShadowSpec,
  type ToWorker,
  trainOneShadow,
} from './shadow-training.js';

let setup: { spec: ShadowSpec; pool: ShadowPool; queries: ShadowQueries } | undefined;
const port = parentPort;
if (!port) throw new Error('shadow-worker.ts must run in a worker thread');

// Jobs run one after another even if messages arrive while one is training.
let queue: Promise<void> = Promise.resolve();

port.on('message', (message: ToWorker) => {
  if (message.type === 'init') {
    setup = { spec: message.spec, pool: message.pool, queries: message.queries };
    return;
  }
  queue = queue.then(async () => {
    const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
    try {
      if (!setup) throw new Error('shadow worker got a job before its data');
      const logits = await trainOneShadow(setup.spec, setup.pool, setup.queries, message.job, () =>
        send({ type: 'epoch', id: message.id }),
      );
      send({ type: 'done', id: message.id, logits }, [logits.buffer as ArrayBuffer]);
    } catch (error) {
      send({
        type: 'error',
        id: message.id,
        message: (error as Error).message,
        input: error instanceof AegisInputError,
      });
    }
  });
});
