// Composes ../../schema.graphql (this subgraph, as served by `_service`) with loyalty.graphql
// using Apollo's own composition, offline. Exits non-zero with the reasons when it fails.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const here = dirname(fileURLToPath(import.meta.url));
const subgraphs = [
  { name: "customers", url: "http://127.0.0.1:8000/graphql", file: join(here, "..", "..", "schema.graphql") },
  { name: "loyalty", url: "http://127.0.0.1:8001/graphql", file: join(here, "loyalty.graphql") },
].map(({ name, url, file }) => ({ name, url, typeDefs: parse(readFileSync(file, "utf8")) }));

const result = composeServices(subgraphs);
if (result.errors && result.errors.length > 0) {
  console.error("Composition failed:");
  for (const error of result.errors) console.error(`- ${error.message}`);
  process.exit(1);
}
const supergraph = result.supergraphSdl;
for (const expected of ["type Customer", "loyaltyPoints", "join__type(graph: CUSTOMERS, key: \"id\")"]) {
  if (!supergraph.includes(expected)) {
    console.error(`Composition succeeded but the supergraph lacks ${expected}`);
    process.exit(1);
  }
}
const hints = result.hints?.length ?? 0;
console.log(`Composition passed: ${subgraphs.length} subgraphs, ${supergraph.length} bytes of supergraph SDL, ${hints} hints.`);
