// The tiny second subgraph of the end-to-end check (loyalty.graphql): it extends Customer with
// loyaltyPoints and lastRewardedBooking, a reference to a Booking of the customer subgraph.
// Its points and bookings come from the ledger it is started with; it remembers the
// Authorization header of every request so the check can see the gateway forwarded it.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

const here = dirname(fileURLToPath(import.meta.url));
export const loyaltySdl = readFileSync(join(here, "loyalty.graphql"), "utf8");

/** ledger: Map customer id -> { points, bookingId | null }. Returns { url, seenAuthorization, stop }. */
export async function startLoyaltySubgraph(ledger) {
  const seenAuthorization = [];
  const entry = (id) => ledger.get(id) ?? { points: 0, bookingId: null };
  const resolvers = {
    Query: {
      loyaltyLeaders: () =>
        [...ledger.entries()].sort((a, b) => b[1].points - a[1].points).map(([id]) => ({ id })),
    },
    Customer: {
      __resolveReference: ({ id }) => ({ id }),
      loyaltyPoints: ({ id }) => entry(id).points,
      lastRewardedBooking: ({ id }) => {
        const bookingId = entry(id).bookingId;
        return bookingId ? { __typename: "Booking", id: bookingId } : null;
      },
    },
  };
  const server = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs: parse(loyaltySdl), resolvers }]),
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, {
    listen: { host: "127.0.0.1", port: 0 },
    context: async ({ req }) => {
      seenAuthorization.push(req.headers.authorization ?? null);
      return {};
    },
  });
  return { url, seenAuthorization, stop: () => server.stop() };
}
