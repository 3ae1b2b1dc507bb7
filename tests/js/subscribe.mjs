// Follows one GraphQL subscription with the graphql-ws reference client, as a Node app would.
//
// Usage: node subscribe.mjs '{"url": "ws://...", "query": "...", "variables": {}, "connectionParams": {}, "events": 2}'
// Prints one JSON object a line: {"next": result}, {"error": ...}, {"complete": true}, and
// {"closed": {"code", "reason"}} when the socket closes; exits after `events` results, or on
// error or complete. Node 20 has no global WebSocket, so the `ws` package is the implementation.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const config = JSON.parse(process.argv[2]);
const emit = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

function describe(error) {
  if (Array.isArray(error)) return error; // GraphQL errors of the operation
  if (error && typeof error.code === 'number') return { code: error.code, reason: error.reason };
  return { message: String(error && error.message ? error.message : error) };
}

const client = createClient({
  url: config.url,
  webSocketImpl: WebSocket,
  connectionParams: config.connectionParams ?? {},
  lazy: true,
  retryAttempts: 0,
  on: {
    closed: (event) => emit({ closed: { code: event.code, reason: String(event.reason ?? '') } }),
  },
});

let received = 0;
const finish = async () => {
  await client.dispose();
};

client.subscribe(
  { query: config.query, variables: config.variables ?? {} },
  {
    next: (result) => {
      emit({ next: result });
      received += 1;
      if (received >= (config.events ?? 1)) finish();
    },
    error: (error) => {
      emit({ error: describe(error) });
      finish();
    },
    complete: () => {
      emit({ complete: true });
      finish();
    },
  },
);
