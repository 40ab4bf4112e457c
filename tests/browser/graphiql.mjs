// GraphiQL rendered offline in Debian's headless Chromium, used as a person would: open
// /graphql, paste the customer list document (tests/queries/customer_list.graphql) into the
// query editor and {"Authorization": "Bearer <token>"} into the Headers editor, press the run
// button, and read the answer from the result pane. Checks that the answer equals what the API
// gives directly, that the token went out as a header and never in a URL, and that no request
// left 127.0.0.1. Saves a screenshot of the page with the answer.
//
//   GRAPHIQL_URL=http://127.0.0.1:8000/graphql TOKEN=... SCREENSHOT=/tmp/graphiql.png \
//     [CHROMIUM=/usr/bin/chromium] node graphiql.mjs
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const LIST_DOCUMENT = readFileSync(join(here, "..", "queries", "customer_list.graphql"), "utf8");
// The flags that work for Debian's Chromium here, with nothing phoning home (playwright gives
// it a fresh temporary profile).
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

class CheckFailed extends Error {}
const say = (message) => console.log(`-- ${message}`);

function isLocal(url) {
  const { protocol, hostname } = new URL(url);
  return ["data:", "blob:", "about:"].includes(protocol) || hostname === "127.0.0.1";
}

async function directAnswer(graphqlUrl, token) {
  const response = await fetch(graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: LIST_DOCUMENT }),
  });
  return response.json();
}

// Focus an editor, select what is there and put `text` in its place, as a paste would.
async function pasteInto(page, editor, text) {
  await editor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(text);
}

async function editorValue(page, selector) {
  return page.$eval(selector, (element) => element.CodeMirror.getValue());
}

async function runInGraphiQL(page, graphqlUrl, token, graphqlPosts) {
  await page.goto(graphqlUrl);
  await page.waitForSelector(".graphiql-query-editor .CodeMirror", { timeout: 60_000 });
  say(`GraphiQL rendered at ${page.url()}`);

  await pasteInto(page, page.locator(".graphiql-query-editor .CodeMirror"), LIST_DOCUMENT);
  await page.keyboard.press("Control+Home"); // the document's start stays in view
  await page.getByRole("button", { name: "Headers" }).click();
  const headersSelector = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror";
  const headers = JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2);
  await pasteInto(page, page.locator(headersSelector), headers);
  if ((await editorValue(page, headersSelector)) !== headers) {
    throw new CheckFailed("The Headers editor does not hold the Authorization header that was pasted.");
  }
  say("pasted the customer list document and the Authorization header, pressing run");

  graphqlPosts.length = 0;
  await page.getByRole("button", { name: /Execute query/ }).click();
  const resultSelector = ".graphiql-response .CodeMirror";
  await page.waitForFunction(
    (selector) => document.querySelector(selector)?.CodeMirror.getValue().includes('"data"'),
    resultSelector,
    { timeout: 60_000 },
  );
  return JSON.parse(await editorValue(page, resultSelector));
}

function checkAnswer(shown, direct) {
  if (shown.errors) throw new CheckFailed(`GraphiQL shows errors: ${JSON.stringify(shown.errors)}`);
  const people = shown.data?.people;
  if (!people || people.edges.length === 0) throw new CheckFailed(`GraphiQL shows no people: ${JSON.stringify(shown)}`);
  if (!isDeepStrictEqual(shown, direct)) {
    throw new CheckFailed(`GraphiQL shows another answer than the API gives directly:\n${JSON.stringify(shown)}\n${JSON.stringify(direct)}`);
  }
  const names = people.edges.slice(0, 3).map(({ node }) => node.fullName);
  say(`the result pane shows ${people.edges.length} of ${people.totalCount} people (${names.join(", ")}, ...), the same answer the API gives directly`);
}

function checkTokenStaysInHeaders(graphqlPosts, pageUrl, allUrls, token) {
  const sent = graphqlPosts.filter((request) => (request.postData() ?? "").includes("CustomerList"));
  if (sent.length !== 1) throw new CheckFailed(`Expected one POST of the list document, saw ${sent.length}.`);
  if (sent[0].headers().authorization !== `Bearer ${token}`) {
    throw new CheckFailed(`The list query went out with Authorization ${JSON.stringify(sent[0].headers().authorization)}.`);
  }
  const leaking = [pageUrl, ...allUrls].filter((url) => url.includes(token));
  if (leaking.length) throw new CheckFailed(`The token appears in a URL: ${leaking.join(", ")}`);
  say("the token went out in the Authorization header of the POST and in no URL");
}

async function main() {
  const { GRAPHIQL_URL: graphqlUrl, TOKEN: token, SCREENSHOT: screenshot } = process.env;
  if (!graphqlUrl || !token || !screenshot) throw new CheckFailed("Set GRAPHIQL_URL, TOKEN and SCREENSHOT.");
  const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_FLAGS });
  say(`launched ${executablePath} ${browser.version()} headless`);
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const allUrls = [];
    const leftTheMachine = [];
    const graphqlPosts = [];
    // Every request is seen here; one for any other host is recorded and never sent.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      allUrls.push(url);
      if (isLocal(url)) return route.continue();
      leftTheMachine.push(url);
      return route.abort();
    });
    context.on("websocket", (socket) => isLocal(socket.url()) || leftTheMachine.push(socket.url()));
    const page = await context.newPage();
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url().startsWith(graphqlUrl)) graphqlPosts.push(request);
    });

    const shown = await runInGraphiQL(page, graphqlUrl, token, graphqlPosts);
    checkAnswer(shown, await directAnswer(graphqlUrl, token));
    checkTokenStaysInHeaders(graphqlPosts, page.url(), allUrls, token);
    if (leftTheMachine.length) {
      throw new CheckFailed(`The page tried to reach other hosts: ${leftTheMachine.join(", ")}`);
    }
    say(`all ${allUrls.length} requests of the page went to 127.0.0.1`);
    await page.screenshot({ path: screenshot });
    say(`screenshot saved: ${screenshot}`);
  } finally {
    await browser.close();
  }
}

main().then(
  () => console.log("\nGraphiQL in Chromium passed."),
  (error) => {
    console.error(`\nFAILED GraphiQL in Chromium: ${error instanceof CheckFailed ? error.message : error.stack}`);
    process.exit(1);
  },
);
