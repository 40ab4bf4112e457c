// Federation end to end: the running customer subgraph plus the loyalty subgraph
// (loyalty-subgraph.mjs), composed with @apollo/composition and served by @apollo/gateway on
// 127.0.0.1, which forwards the caller's Authorization header. One query goes
// customers list (here) -> loyaltyPoints and lastRewardedBooking (loyalty) -> the booking's
// fields (back here, through _entities). The answer is checked field by field against what
// the customer subgraph answers directly, and the customer subgraph's statement count for the
// _entities call must not grow with the number of bookings (X-SQL-Statements).
//
//   CUSTOMER_SUBGRAPH_URL=http://127.0.0.1:8000/graphql TOKEN=... node gateway.mjs
// (the subgraph started with STATEMENT_COUNT_HEADER=1). Exits 1 with the reasons on failure.
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { loyaltySdl, startLoyaltySubgraph } from "./loyalty-subgraph.mjs";

// No usage reporting or cloud detection: nothing may leave this machine.
process.env.APOLLO_TELEMETRY_DISABLED = "1";
for (const name of ["APOLLO_KEY", "APOLLO_GRAPH_REF"]) delete process.env[name];

const SMALL_PAGE = 5;
const LARGE_PAGE = 20;

export const GATEWAY_QUERY = `query LoyaltyRoundTrip($first: Int!) {
  customers(first: $first) {
    totalCount
    edges {
      node {
        id
        number
        fullName
        loyaltyPoints
        lastRewardedBooking {
          id
          number
          state
          event { name }
          customer { id fullName }
        }
      }
    }
  }
}`;

const DIRECT_QUERY = `query Expected($first: Int!) {
  customers(first: $first) {
    totalCount
    edges {
      node {
        id number fullName
        bookings(first: 1) { edges { node { id number state event { name } } } }
      }
    }
  }
}`;

class CheckFailed extends Error {}
const say = (message) => console.log(`-- ${message}`);

async function postGraphQL(url, query, variables, authorization) {
  const headers = { "content-type": "application/json" };
  if (authorization) headers.authorization = authorization;
  const response = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  if (!response.ok && !text.startsWith("{")) {
    throw new CheckFailed(`POST ${url} answered ${response.status}: ${text}`);
  }
  return { body: JSON.parse(text), headers: response.headers };
}

// What the customer subgraph holds, asked directly; and the loyalty ledger built from it.
async function expectations(subgraphUrl, authorization) {
  const { body } = await postGraphQL(subgraphUrl, DIRECT_QUERY, { first: LARGE_PAGE }, authorization);
  if (body.errors) throw new CheckFailed(`The subgraph answered errors: ${JSON.stringify(body.errors)}`);
  const customers = body.data.customers;
  const ledger = new Map();
  for (const { node } of customers.edges) {
    const booking = node.bookings.edges[0]?.node ?? null;
    ledger.set(node.id, { points: 10 * node.number + 7, bookingId: booking?.id ?? null, booking });
  }
  const withBooking = (first) =>
    customers.edges.slice(0, first).filter(({ node }) => ledger.get(node.id).bookingId).length;
  if (withBooking(SMALL_PAGE) < 1 || withBooking(LARGE_PAGE) <= withBooking(SMALL_PAGE)) {
    throw new CheckFailed(
      `The demo data no longer suits this check: ${withBooking(SMALL_PAGE)} of the first ` +
        `${SMALL_PAGE} and ${withBooking(LARGE_PAGE)} of the first ${LARGE_PAGE} customers have a booking.`,
    );
  }
  return { customers, ledger, withBooking };
}

function expectedAnswer(customers, ledger, first) {
  return {
    customers: {
      totalCount: customers.totalCount,
      edges: customers.edges.slice(0, first).map(({ node }) => {
        const { points, booking } = ledger.get(node.id);
        return {
          node: {
            id: node.id,
            number: node.number,
            fullName: node.fullName,
            loyaltyPoints: points,
            lastRewardedBooking: booking && {
              id: booking.id,
              number: booking.number,
              state: booking.state,
              event: { name: booking.event.name },
              customer: { id: node.id, fullName: node.fullName },
            },
          },
        };
      }),
    },
  };
}

// Every leaf compared by path; returns [number of leaves compared, list of differences].
function compare(expected, actual, path = "data") {
  if (expected === null || typeof expected !== "object") {
    return expected === actual ? [1, []] : [1, [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`]];
  }
  if (actual === null || typeof actual !== "object") {
    return [1, [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`]];
  }
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  let leaves = 0;
  const differences = [];
  for (const key of keys) {
    const [n, d] = compare(expected[key], actual[key], Array.isArray(expected) ? `${path}[${key}]` : `${path}.${key}`);
    leaves += n;
    differences.push(...d);
  }
  return [leaves, differences];
}

// Passes the caller's Authorization on and records each subgraph call's statement count.
function dataSources(subgraphCalls) {
  return ({ name, url }) =>
    new (class extends RemoteGraphQLDataSource {
      willSendRequest({ request, context }) {
        if (context.authorization) request.http.headers.set("authorization", context.authorization);
      }
      didReceiveResponse({ response, request }) {
        subgraphCalls.push({
          subgraph: name,
          entities: request.query.includes("_entities"),
          representations: request.variables?.representations?.length ?? 0,
          statements: response.http.headers.get("x-sql-statements"),
        });
        return response;
      }
    })({ url });
}

async function startGateway(subgraphUrl, loyaltyUrl, subgraphCalls) {
  const { body } = await postGraphQL(subgraphUrl, "{ _service { sdl } }", {});
  const customerSdl = body.data?._service?.sdl;
  if (!customerSdl) throw new CheckFailed(`_service answered ${JSON.stringify(body)}`);
  const composed = composeServices([
    { name: "customers", url: subgraphUrl, typeDefs: parse(customerSdl) },
    { name: "loyalty", url: loyaltyUrl, typeDefs: parse(loyaltySdl) },
  ]);
  if (composed.errors?.length) {
    throw new CheckFailed(`Composition failed:\n${composed.errors.map((e) => `- ${e.message}`).join("\n")}`);
  }
  say(`composed the live customer SDL (_service) with loyalty.graphql: ${composed.supergraphSdl.length} bytes`);
  const server = new ApolloServer({
    gateway: new ApolloGateway({ supergraphSdl: composed.supergraphSdl, buildService: dataSources(subgraphCalls) }),
    plugins: [ApolloServerPluginLandingPageDisabled()],
  });
  const { url } = await startStandaloneServer(server, {
    listen: { host: "127.0.0.1", port: 0 },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  return { url, stop: () => server.stop() };
}

async function routedQuery(gatewayUrl, first, authorization, subgraphCalls) {
  subgraphCalls.length = 0;
  const { body } = await postGraphQL(gatewayUrl, GATEWAY_QUERY, { first }, authorization);
  return { body, calls: [...subgraphCalls] };
}

function checkStatementCounts(runs) {
  const entityCalls = runs.map(({ first, calls }) => {
    const found = calls.filter((c) => c.subgraph === "customers" && c.entities);
    if (found.length !== 1) {
      throw new CheckFailed(`first: ${first} made ${found.length} _entities calls to the customer subgraph, not 1: ${JSON.stringify(calls)}`);
    }
    if (!/^\d+$/.test(found[0].statements ?? "")) {
      throw new CheckFailed("The customer subgraph sent no X-SQL-Statements header: start it with STATEMENT_COUNT_HEADER=1.");
    }
    return { first, ...found[0] };
  });
  for (const call of entityCalls) {
    say(`first: ${call.first}: _entities with ${call.representations} Booking representations cost ${call.statements} statements`);
  }
  const counts = new Set(entityCalls.map((c) => c.statements));
  if (counts.size !== 1) {
    throw new CheckFailed(`The _entities statement count grows with the representations: ${JSON.stringify(entityCalls)}`);
  }
}

async function main() {
  const subgraphUrl = process.env.CUSTOMER_SUBGRAPH_URL;
  const token = process.env.TOKEN;
  if (!subgraphUrl || !token) throw new CheckFailed("Set CUSTOMER_SUBGRAPH_URL and TOKEN.");
  const authorization = `Bearer ${token}`;
  const { customers, ledger, withBooking } = await expectations(subgraphUrl, authorization);
  say(`asked the customer subgraph directly: the first ${LARGE_PAGE} of ${customers.totalCount} customers, ${withBooking(LARGE_PAGE)} with a booking`);

  const loyalty = await startLoyaltySubgraph(ledger);
  const subgraphCalls = [];
  let gateway;
  try {
    say(`loyalty subgraph at ${loyalty.url}`);
    gateway = await startGateway(subgraphUrl, loyalty.url, subgraphCalls);
    say(`gateway at ${gateway.url} (APOLLO_TELEMETRY_DISABLED=1)`);

    const runs = [];
    for (const first of [SMALL_PAGE, LARGE_PAGE]) {
      const { body, calls } = await routedQuery(gateway.url, first, authorization, subgraphCalls);
      if (body.errors) throw new CheckFailed(`first: ${first}: the gateway answered errors: ${JSON.stringify(body.errors)}`);
      const [leaves, differences] = compare(expectedAnswer(customers, ledger, first), body.data);
      if (differences.length) throw new CheckFailed(`first: ${first}: ${differences.length} fields differ:\n${differences.join("\n")}`);
      say(`first: ${first}: ${leaves} fields match across both subgraphs (${calls.map((c) => c.subgraph + (c.entities ? "/_entities" : "")).join(" -> ")})`);
      runs.push({ first, body, calls });
    }
    checkStatementCounts(runs);

    const forwarded = new Set(loyalty.seenAuthorization);
    if (forwarded.size !== 1 || !forwarded.has(authorization)) {
      throw new CheckFailed(`The loyalty subgraph saw Authorization ${JSON.stringify([...forwarded])}, not the caller's.`);
    }
    say(`the gateway forwarded the caller's Authorization to both subgraphs (${loyalty.seenAuthorization.length} loyalty calls)`);

    const anonymous = (await routedQuery(gateway.url, SMALL_PAGE, null, subgraphCalls)).body;
    const codes = (anonymous.errors ?? []).map((e) => e.extensions?.code);
    if (anonymous.data?.customers || !codes.includes("UNAUTHENTICATED")) {
      throw new CheckFailed(`Without a token the gateway answered ${JSON.stringify(anonymous)}`);
    }
    say("without a token the gateway answers UNAUTHENTICATED from the customer subgraph");

    console.log(`\nThe gateway query (variables {"first": ${SMALL_PAGE}}):\n${GATEWAY_QUERY}\n`);
    console.log(`Its answer:\n${JSON.stringify(runs[0].body, null, 2)}`);
  } finally {
    await gateway?.stop();
    await loyalty.stop();
  }
}

main().then(
  () => console.log("\nFederation end to end passed."),
  (error) => {
    console.error(`\nFAILED federation end to end: ${error instanceof CheckFailed ? error.message : error.stack}`);
    process.exit(1);
  },
);
