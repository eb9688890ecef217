// Hive Gateway as `python -m bench compare` runs it: the composed supergraph (BENCH_SUPERGRAPH), one process, and
// the response cache only when BENCH_RESPONSE_CACHE=1 (one public cache for every caller, BENCH_RESPONSE_CACHE_TTL_MS).
import { defineConfig } from '@graphql-hive/gateway';

const responseCache = process.env.BENCH_RESPONSE_CACHE === '1';

export const gatewayConfig = defineConfig({
  supergraph: process.env.BENCH_SUPERGRAPH,
  fork: 1,
  responseCaching: responseCache
    ? { session: () => null, ttl: Number(process.env.BENCH_RESPONSE_CACHE_TTL_MS ?? 600000) }
    : undefined,
});
