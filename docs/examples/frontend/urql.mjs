// urql (core) against the gateway: Relay-style paging of `search` through `edges` and `pageInfo.endCursor`, results
// told apart by `__typename`, and a fetch that honours Retry-After on 429.
//
//   npm ci && node urql.mjs [URL] [PAGES]        URL defaults to http://127.0.0.1:8000/graphql
//   PGW_API_KEY=<key> node urql.mjs ...           the key, as `Authorization: Bearer <key>` (none: anonymous tier)
import { Client, cacheExchange, fetchExchange, gql } from "@urql/core";

const url = process.argv[2] || "http://127.0.0.1:8000/graphql";
const pages = Number(process.argv[3] || 2);
const key = process.env.PGW_API_KEY || "";
const MAX_RETRIES = 3;

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

const client = new Client({
  url,
  exchanges: [cacheExchange, fetchExchange],
  fetch: politeFetch,
  // The gateway answers application/graphql-response+json when asked (GraphQL over HTTP); urql asks for it.
  fetchOptions: () => ({ headers: key ? { Authorization: `Bearer ${key}` } : {} }),
  preferGetMethod: false,
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
          ... on Lead { id title publishDate }
          ... on Tender { id title closingDate }
          ... on Contract { id title awardDate }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

const seen = new Set();
let after = null;
for (let page = 1; page <= pages; page += 1) {
  const result = await client.query(SEARCH, { keywords: "software", first: 5, after }).toPromise();
  if (result.error) {
    console.error(result.error.message);
    process.exit(1);
  }
  const { edges, pageInfo, totalCount } = result.data.search;
  console.log(`page ${page} (${edges.length} results of at most ${totalCount})`);
  for (const { node, upstream } of edges) {
    const day = node.publishDate || node.closingDate || node.awardDate || "undated";
    console.log(`  ${node.__typename} from ${upstream}, ${day}: ${node.title}`);
    if (seen.has(node.id)) {
      console.error(`repeated: ${node.id}`);
      process.exit(1);
    }
    seen.add(node.id);
  }
  if (!pageInfo.hasNextPage) break;
  after = pageInfo.endCursor;
}
