// Starts GraphiQL against the endpoint that served this page (HTTP for queries and mutations,
// WebSocket for subscriptions). Kept out of the HTML so the page needs no inline script.
(function () {
  "use strict";
  const endpoint = new URL(window.location.href);
  endpoint.search = "";
  endpoint.hash = "";
  const subscriptions = new URL(endpoint);
  subscriptions.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  const EXAMPLE = `# Welcome to the storefront API. Press Ctrl-Enter (or the run button) to run a query.
# Credentials: add {"Authorization": "Bearer <accessToken from login>"} under Headers.
{
  products(first: 3, filter: { search: "blutooth speakr" }) {
    totalCount
    edges {
      node {
        name
        priceRange { min { amount currency } }
      }
    }
  }
}
`;

  const fetcher = GraphiQL.createFetcher({
    url: endpoint.toString(),
    subscriptionUrl: subscriptions.toString(),
  });
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: EXAMPLE,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();
