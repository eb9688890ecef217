// Apollo Client 3 against the gateway: Relay-style paging of `search` through `edges`, a normalised cache that knows
// which types implement `Node` (possibleTypes), and a fetch that honours Retry-After on 429.
//
//   npm ci && node apollo.mjs [URL] [PAGES]      URL defaults to http://127.0.0.1:8000/graphql
//   PGW_API_KEY=<key> node apollo.mjs ...         the key, as `Authorization: Bearer <key>` (none: anonymous tier)
//
// In a browser app the same client works as is (import from "@apollo/client"); the gateway must allow the app's
// origin (GATEWAY_CORS_ALLOWED_ORIGINS; `make demo` allows every localhost port).
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { relayStylePagination } from "@apollo/client/utilities/index.js";

const url = process.argv[2] || "http://127.0.0.1:8000/graphql";
const pages = Number(process.argv[3] || 2);
const key = process.env.PGW_API_KEY || "";
const MAX_RETRIES = 3;

// Waits out 429 and 503 answers as long as the gateway's Retry-After says (seconds), at most MAX_RETRIES times.
async function politeFetch(input, init) {
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetch(input, init);
    if ((response.status !== 429 && response.status !== 503) || attempt === MAX_RETRIES) {
      return response;
    }
    const waitS = Number(response.headers.get("Retry-After") || "1");
    console.error(`rate limited (HTTP ${response.status}); retrying in ${waitS} s`);
    await new Promise((resolve) => setTimeout(resolve, waitS * 1000));
  }
}

const client = new ApolloClient({
  link: new HttpLink({
    uri: url,
    fetch: politeFetch,
    headers: {
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
      // Client awareness: the gateway's CORS preflight allows these (and traceparent, baggage, sentry-trace).
      "apollographql-client-name": "frontend-example",
      "apollographql-client-version": "1.0.0",
    },
  }),
  cache: new InMemoryCache({
    // Every result type of `search` is a `Node` with a global `id`: one cache entry per object, whatever query read it.
    possibleTypes: { Node: ["Lead", "Tender", "Contract"], SearchResult: ["Lead", "Tender", "Contract"] },
    typePolicies: {
      // Pages of one search (same keywords and filter) are appended into one list of edges.
      Query: { fields: { search: relayStylePagination(["keywords", "filter"]) } },
    },
  }),
});

const SEARCH = gql`
  query FrontendSearch($keywords: String, $first: Int, $after: String) {
    search(keywords: $keywords, first: $first, after: $after) {
      totalCount
      edges {
        cursor
        upstream
        node {
          __typename
          ... on Node { id }
          ... on Lead { title }
          ... on Tender { title }
          ... on Contract { title }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

// One watched query; each further page is `fetchMore` with the end cursor, merged by relayStylePagination.
const search = client.watchQuery({ query: SEARCH, variables: { keywords: "software", first: 5 } });
let watching;
let result = await new Promise((resolve, reject) => {
  watching = search.subscribe({ next: (answer) => answer.loading || resolve(answer), error: reject });
});
console.log(`page 1 (${result.data.search.edges.length} results of at most ${result.data.search.totalCount})`);
for (let page = 2; page <= pages && result.data.search.pageInfo.hasNextPage; page += 1) {
  const before = result.data.search.edges.length;
  await search.fetchMore({ variables: { after: result.data.search.pageInfo.endCursor } });
  result = search.getCurrentResult();
  console.log(`page ${page} (${result.data.search.edges.length - before} more, ${result.data.search.edges.length} in the cache)`);
}
for (const edge of result.data.search.edges) {
  console.log(`  ${edge.node.__typename} from ${edge.upstream}: ${edge.node.title}`);
}
// possibleTypes at work: any result read back by its id as a Node fragment, from the cache (no request).
const first = result.data.search.edges[0].node;
const asNode = client.readFragment({
  id: client.cache.identify(first),
  fragment: gql`fragment AnyNode on Node { id }`,
});
console.log(`cached as Node: ${asNode && asNode.id === first.id}`);
watching.unsubscribe();
