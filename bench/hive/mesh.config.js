// Mesh compose: one subgraph per upstream, from the OpenAPI descriptions in ./openapi, all pointed at the bench's
// upstream (BENCH_UPSTREAM_URL, set by `python -m bench compare`). The keys are sent as the gateway sends them.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const endpoint = process.env.BENCH_UPSTREAM_URL;
if (!endpoint) {
  throw new Error('BENCH_UPSTREAM_URL is not set');
}

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('ita', {
        source: './openapi/ita.json',
        endpoint,
        operationHeaders: { 'Api-Key': process.env.BENCH_ITA_API_KEY ?? '' },
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('canada', { source: './openapi/canada.json', endpoint }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('sam', {
        source: './openapi/sam.json',
        endpoint,
        queryParams: { api_key: process.env.BENCH_SAM_API_KEY ?? '' },
      }),
    },
  ],
});
