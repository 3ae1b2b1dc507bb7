// Apollo Client with its persisted-queries link (Automatic Persisted Queries, hashed queries over GET),
// run by tests/test_persisted_queries.py. Argument: JSON {url, operations: [{query, variables, mutation}]}.
// Prints one JSON line per HTTP exchange ({"fetch": {method, url, status, cacheControl, etag}}) and per
// operation ({"result": {data, errors}} or {"error": message}).
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { sha256 } from "crypto-hash";

const config = JSON.parse(process.argv[2]);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");

async function loggingFetch(url, init) {
  const response = await fetch(url, init);
  print({
    fetch: {
      method: init?.method ?? "GET",
      url: String(url),
      status: response.status,
      cacheControl: response.headers.get("cache-control"),
      etag: response.headers.get("etag"),
    },
  });
  return response;
}

const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
    new HttpLink({ uri: config.url, fetch: loggingFetch }),
  ),
});

for (const operation of config.operations) {
  try {
    const document = gql(operation.query);
    const result = operation.mutation
      ? await client.mutate({ mutation: document, variables: operation.variables })
      : await client.query({ query: document, variables: operation.variables, fetchPolicy: "network-only" });
    print({ result: { data: result.data ?? null, errors: result.errors ?? null } });
  } catch (error) {
    print({ error: String(error?.message ?? error) });
  }
}
