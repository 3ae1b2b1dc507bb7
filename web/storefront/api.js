// The public GraphQL API, exactly as an external storefront uses it: queries and mutations over
// HTTP (fetch), live order status over WebSocket with the vendored graphql-ws client.
import { createClient } from "./vendor/graphql-ws-6.4.2/client.js";

const endpoint = document.querySelector('meta[name="storefront-api"]')?.content || "/graphql";
export const API_URL = new URL(endpoint, window.location.href).toString();
export const API_IS_SAME_ORIGIN = new URL(API_URL).origin === window.location.origin;
const WS_URL = API_URL.replace(/^http/, "ws");

// ---------------------------------------------------------------- what this browser remembers

const KEY = "storefront.";

function load(name, fallback = null) {
  try {
    const value = window.localStorage.getItem(KEY + name);
    return value === null ? fallback : JSON.parse(value);
  } catch {
    return fallback;
  }
}

function save(name, value) {
  if (value === null || value === undefined) window.localStorage.removeItem(KEY + name);
  else window.localStorage.setItem(KEY + name, JSON.stringify(value));
}

export const session = {
  get auth() { return load("auth"); },
  set auth(value) { save("auth", value); },
  get cartToken() { return load("cartToken"); },
  set cartToken(value) { save("cartToken", value); },
  /** Orders this browser checked out: id -> {number, token, checkoutUrl}; guests need the token. */
  get orders() { return load("orders", {}); },
  rememberOrder(id, details) {
    const orders = load("orders", {});
    orders[id] = { ...(orders[id] || {}), ...details };
    save("orders", orders);
  },
  orderByNumber(number) {
    const entry = Object.entries(load("orders", {})).find(([, order]) => String(order.number) === String(number));
    return entry ? entry[0] : null;
  },
  get lastCheckout() { return load("lastCheckout"); },
  set lastCheckout(id) { save("lastCheckout", id); },
};

// ---------------------------------------------------------------- HTTP

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

async function post(query, variables, withAuth) {
  const headers = { "content-type": "application/json" };
  const auth = withAuth ? session.auth : null;
  if (auth) headers.authorization = `Bearer ${auth.accessToken}`;
  let response;
  try {
    response = await fetch(API_URL, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError("The shop cannot be reached. Check your connection and try again.", "NETWORK");
  }
  if (response.status >= 500) throw new ApiError("The shop had a problem. Please try again.", "SERVER");
  try {
    return await response.json();
  } catch {
    throw new ApiError(`The shop answered ${response.status}.`, "SERVER");
  }
}

const isUnauthenticated = (body) => (body.errors || []).some((e) => e.extensions?.code === "UNAUTHENTICATED");

let refreshing = null;

/** A new access token from the refresh token, once at a time; false when the login has ended. */
function refreshLogin() {
  refreshing ||= (async () => {
    const auth = session.auth;
    if (!auth?.refreshToken) return false;
    const body = await post(
      "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken userErrors { code } } }",
      { t: auth.refreshToken },
      false,
    );
    const payload = body.data?.refreshToken;
    if (!payload?.accessToken) {
      session.auth = null; // the login ended (logged out elsewhere, or revoked)
      resetSubscriptions();
      return false;
    }
    session.auth = { ...auth, accessToken: payload.accessToken, refreshToken: payload.refreshToken };
    return true;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

/** Runs a query or mutation; GraphQL errors throw an ApiError, userErrors are the caller's. */
export async function gql(query, variables = {}) {
  let body = await post(query, variables, true);
  if (isUnauthenticated(body) && session.auth) {
    const renewed = await refreshLogin();
    body = await post(query, variables, renewed);
  }
  if (body.errors?.length) {
    const [error] = body.errors;
    throw new ApiError(error.message, error.extensions?.code);
  }
  return body.data;
}

// ---------------------------------------------------------------- WebSocket

let client = null;

function subscriptionClient() {
  client ||= createClient({
    url: WS_URL,
    // Credentials travel in connection_init, read anew at every (re)connection.
    connectionParams: () => {
      const auth = session.auth;
      return auth ? { authorization: `Bearer ${auth.accessToken}` } : {};
    },
    retryAttempts: 20,
    shouldRetry: () => true,
    on: {
      connected: () => notify("connected"),
      closed: () => notify("reconnecting"),
    },
  });
  return client;
}

const connectionListeners = new Set();

function notify(state) {
  for (const listener of connectionListeners) listener(state);
}

/** Subscribes; `onEvent(data)` for every event. Returns the function that unsubscribes. */
export function subscribe(query, variables, { onEvent, onError, onConnection }) {
  if (onConnection) connectionListeners.add(onConnection);
  const stop = subscriptionClient().subscribe(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) onError?.(new ApiError(result.errors[0].message, result.errors[0].extensions?.code));
        else onEvent(result.data);
      },
      error: (error) => onError?.(error instanceof Error ? error : new ApiError("The live connection closed.", "CLOSED")),
      complete: () => {},
    },
  );
  return () => {
    if (onConnection) connectionListeners.delete(onConnection);
    stop();
  };
}

/** After signing in or out, reconnect so that the socket carries the new credentials. */
export function resetSubscriptions() {
  if (client) {
    const old = client;
    client = null;
    old.dispose();
  }
}
