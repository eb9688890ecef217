"""A minimal client of the procurement GraphQL gateway: Python 3.11 standard library only.

Pages through `contracts` by following `pageInfo.endCursor`, sends the API key as `Authorization: Bearer`, and on
HTTP 429 waits the `Retry-After` seconds it is given (at most MAX_WAIT_S, at most MAX_ATTEMPTS tries per page).

    PGW_API_KEY=pgw_... python docs/examples/client.py --url http://127.0.0.1:8000/graphql --pages 2 --first 5

Exit status: 0 when every page came back, 1 on an error the client cannot get past.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

QUERY = """
query ContractsPage($first: Int!, $after: String) {
  contracts(first: $first, after: $after) {
    totalCount
    edges { node { source piid awardDate title } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
MAX_ATTEMPTS = 3
MAX_WAIT_S = 30
TIMEOUT_S = 30


class GatewayError(Exception):
    """An answer the client cannot use: an HTTP error other than a 429 it may wait out, or GraphQL errors only."""


def post(url: str, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One GraphQL request; a 429 is retried after its Retry-After (bounded), anything else non-200 raises."""
    body = json.dumps({"query": query, "variables": variables}).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/graphql-response+json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                answer: dict[str, Any] = json.load(response)
                return answer
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")
            if error.code != 429 or attempt == MAX_ATTEMPTS:
                raise GatewayError(f"HTTP {error.code}: {detail}") from None
            wait_s = min(_retry_after_s(error.headers.get("Retry-After")), MAX_WAIT_S)
            print(f"rate limited (HTTP 429); retrying in {wait_s} s", file=sys.stderr)
            time.sleep(wait_s)
    raise AssertionError("unreachable")


def _retry_after_s(value: str | None) -> int:
    try:
        return max(1, int(value or "1"))
    except ValueError:  # an HTTP date: wait the bounded maximum
        return MAX_WAIT_S


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--key", default=os.environ.get("PGW_API_KEY", ""), help="API key (default: $PGW_API_KEY)")
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--first", type=int, default=5, help="results per page, 1 to 100")
    args = parser.parse_args(argv)

    after: str | None = None
    for page in range(1, args.pages + 1):
        try:
            answer = post(args.url, args.key, QUERY, {"first": args.first, "after": after})
        except (GatewayError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        for problem in answer.get("errors", []):  # partial data: the other fields are still good
            code = problem.get("extensions", {}).get("code")
            print(f"warning: {code}: {problem.get('message')}", file=sys.stderr)
        contracts = (answer.get("data") or {}).get("contracts")
        if contracts is None:
            print("error: no contracts in the answer", file=sys.stderr)
            return 1
        print(f"page {page} (of {contracts['totalCount']} contracts)")
        for edge in contracts["edges"]:
            node = edge["node"]
            print(f"  {node['source']:<6} {node['piid']:<20} {node['awardDate'] or '-':<10}  {node['title'] or ''}")
        cost = answer.get("extensions", {}).get("cost")
        if cost:
            budget = cost["budget"]
            print(f"  cost {cost['requested']}, {budget['remaining']} of {budget['limit']} left this hour")
        page_info = contracts["pageInfo"]
        if not page_info["hasNextPage"]:
            break
        after = page_info["endCursor"]
    return 0


if __name__ == "__main__":
    sys.exit(main())
