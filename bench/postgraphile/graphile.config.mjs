// PostGraphile v5 for the profile comparison: the public schema, as the owner role.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

export default {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.PGL_DATABASE_URL,
      schemas: ["public"],
      pgSettings: () => ({ role: "customer_owner" }),
    }),
  ],
  grafserv: { port: Number(process.env.PGL_PORT || 5678), host: "127.0.0.1", graphiql: false },
  grafast: { explain: false },
};
