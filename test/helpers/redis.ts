/**
 * Redis-backed tests run only against a Redis named by AEGIS_TEST_REDIS_URL (.ci/run starts one
 * on loopback); elsewhere they skip with the reason.
 */
import { Redis } from 'ioredis';

/** undefined when `url` is set and answers PING within a second, else why the test skips. */
export async function redisSkipReason(url: string | undefined): Promise<string | undefined> {
  if (!url) return 'set AEGIS_TEST_REDIS_URL to a Redis (e.g. redis://127.0.0.1:6379) to run the shared-limit tests';
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `AEGIS_TEST_REDIS_URL=${url.replace(/\/\/[^@/]*@/, '//***@')} does not answer: ${(error as Error).message}`;
  } finally {
    client.disconnect();
  }
}
