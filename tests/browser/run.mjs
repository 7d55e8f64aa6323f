// Browser tests of the chat page: the real chat-server (and chat-client) binaries, Debian's
// Chromium driven by playwright-core. Run by scripts/browser-tests.sh, which builds the
// binaries and installs what this needs. Each test prints "ok" or throws; the process exits 1
// on the first failure.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = process.env.CHAT_BIN || join(ROOT, "target", "debug");
const PASSWORD = "correct horse battery";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT_MS = 20_000;

function assert(condition, message) {
  if (!condition) throw new Error("assertion failed: " + message);
}

/** Starts chat-server; resolves once it says where it listens. */
async function startServer({ data, keep = false, listen = "127.0.0.1:0", http = "127.0.0.1:0" }) {
  const args = ["--listen", listen, "--http", http, "--data", data, "--hash-memory-kib", "64",
    "--hash-passes", "1", "--registrations-per-hour", "1000", "--login-failures-per-min", "1000",
    "--message-burst", "1000", "--messages-per-sec", "1000"];
  if (keep) args.push("--keep-data");
  const child = spawn(join(BIN, "chat-server"), args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stderr.resume();
  const lines = createInterface({ input: child.stdout });
  const found = {};
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not start")), TIMEOUT_MS);
    lines.on("line", (line) => {
      if (line.startsWith("listening on ")) found.addr = line.slice("listening on ".length);
      if (line.startsWith("web page at ")) {
        found.url = line.slice("web page at ".length);
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", () => reject(new Error("the server exited")));
  });
  return { child, addr: found.addr, url: found.url };
}

async function stopServer(server) {
  const exited = new Promise((resolve) => server.child.on("exit", resolve));
  server.child.kill("SIGTERM");
  await exited;
}

/** chat-client through pipes: write lines, wait for output lines. */
function startClient(addr, name) {
  const child = spawn(join(BIN, "chat-client"), ["--server", addr], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, TZ: "UTC" },
  });
  const seen = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    seen.push(line);
    for (const w of [...waiters]) if (w.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
  });
  child.stderr.resume();
  const client = {
    write: (line) => child.stdin.write(line + "\n"),
    expect: (text) => new Promise((resolve, reject) => {
      const test = (line) => line.includes(text);
      const old = seen.find(test);
      if (old) { seen.splice(seen.indexOf(old), 1); resolve(old); return; }
      const timer = setTimeout(() => reject(new Error(`chat-client never printed ${text}; saw ${seen.join(" | ")}`)), TIMEOUT_MS);
      waiters.push({ test, resolve: (line) => { clearTimeout(timer); resolve(line); } });
    }),
    stop: () => child.kill(),
  };
  client.write(name);
  client.write(PASSWORD);
  return client;
}

const LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let browser;

async function newPage(url) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.goto(url);
  return page;
}

async function register(page, name) {
  await page.fill("#username", name);
  await page.fill("#password", PASSWORD);
  await page.click("#register");
  await page.waitForSelector("body[data-ready=true]");
}

async function openWith(page, name) {
  await page.fill("#open-with", name);
  await page.press("#open-with", "Enter");
  await page.waitForFunction((n) => document.getElementById("title").textContent === n, name);
}

async function say(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
  await page.waitForFunction((t) => [...document.querySelectorAll("#messages .mine .body")]
    .some((b) => b.textContent === t), text);
}

async function seeMessage(page, text) {
  await page.waitForFunction((t) => [...document.querySelectorAll("#messages .body")]
    .some((b) => b.textContent === t), text);
}

async function countMessages(page, text) {
  return page.evaluate((t) => [...document.querySelectorAll("#messages .body")]
    .filter((b) => b.textContent === t).length, text);
}

function tempData(label) {
  return mkdtempSync(join(tmpdir(), `chat-browser-${label}-`));
}

/** Runs `test` against a fresh server on a fresh store, stopped and removed afterwards. */
async function withServer(label, test) {
  const data = tempData(label);
  const server = await startServer({ data });
  try {
    await test(server);
  } finally {
    await stopServer(server);
    rmSync(data, { recursive: true, force: true });
  }
}

const tests = {
  async "two browser users register and chat"() {
    await withServer("two", async (server) => {
      const alice = await newPage(server.url);
      const bob = await newPage(server.url);
      await register(alice, "alice");
      await register(bob, "bob");
      await openWith(alice, "bob");
      await say(alice, "hello bob");
      // Bob's list shows the conversation, unread, then the message once opened.
      await bob.waitForSelector("#conversations .unread");
      await bob.click("#conversations button[data-key='u:alice']");
      await seeMessage(bob, "hello bob");
      await say(bob, "hello alice");
      await seeMessage(alice, "hello alice");
      // The picture for the README: two people chatting, side by side.
      const shots = join(ROOT, "docs");
      await alice.screenshot({ path: join(shots, "screenshot-alice.png") });
      await bob.screenshot({ path: join(shots, "screenshot-bob.png") });
    });
  },

  async "a browser user and a chat-client user chat"() {
    await withServer("mixed", async (server) => {
      const carol = startClient(server.addr, "carol");
      await carol.expect("ogged in as carol");
      const alice = await newPage(server.url);
      await register(alice, "alice");
      await openWith(alice, "carol");
      await say(alice, "hi from the browser");
      await carol.expect("alice: hi from the browser");
      carol.write("/send alice hi from the terminal");
      await seeMessage(alice, "hi from the terminal");
      carol.stop();
    });
  },

  async "a group of three"() {
    await withServer("group", async (server) => {
      const pages = {};
      for (const name of ["alice", "bob", "carol"]) {
        pages[name] = await newPage(server.url);
        await register(pages[name], name);
      }
      const alice = pages.alice;
      await alice.fill("#group-name", "#trio");
      await alice.fill("#group-members", "bob carol");
      await alice.click("#group-form button");
      await alice.waitForFunction(() => document.getElementById("title").textContent === "#trio");
      await say(alice, "hello both");
      for (const name of ["bob", "carol"]) {
        const page = pages[name];
        await page.waitForSelector("#conversations button[data-key='g:trio']");
        await page.click("#conversations button[data-key='g:trio']");
        await seeMessage(page, "hello both");
      }
      await say(pages.carol, "hello from carol");
      await seeMessage(pages.bob, "hello from carol");
      await seeMessage(alice, "hello from carol");
      // A fourth joins through the page's Add form, and reads what is said next.
      const dave = await newPage(server.url);
      await register(dave, "dave");
      await alice.fill("#invite-user", "dave");
      await alice.press("#invite-user", "Enter");
      await alice.waitForFunction(() => [...document.querySelectorAll("#messages .notice")]
        .some((n) => n.textContent.includes("alice added dave")));
      await say(pages.bob, "welcome dave");
      await dave.waitForSelector("#conversations button[data-key='g:trio']");
      await dave.click("#conversations button[data-key='g:trio']");
      await seeMessage(dave, "welcome dave");
    });
  },

  async "two tabs of one user stay in step"() {
    await withServer("tabs", async (server) => {
      const bob = await newPage(server.url);
      await register(bob, "bob");
      const laptop = await newPage(server.url);
      await register(laptop, "alice");
      const phone = await newPage(server.url);
      await phone.fill("#username", "alice");
      await phone.fill("#password", "correct horse battery");
      await phone.click("#log-in");
      await phone.waitForSelector("body[data-ready=true]");
      await openWith(bob, "alice");
      await say(bob, "one for both tabs");
      // Both tabs count it unread; reading it on the laptop clears it on the phone.
      for (const tab of [laptop, phone]) {
        await tab.waitForSelector("#conversations button[data-key='u:bob'] .unread");
      }
      await laptop.click("#conversations button[data-key='u:bob']");
      await seeMessage(laptop, "one for both tabs");
      await phone.waitForFunction(() =>
        !document.querySelector("#conversations button[data-key='u:bob'] .unread"));
      // What one tab sends shows in the other.
      await say(laptop, "sent from the laptop");
      await phone.click("#conversations button[data-key='u:bob']");
      await seeMessage(phone, "sent from the laptop");
      assert((await countMessages(phone, "sent from the laptop")) === 1, "once");
    });
  },

  async "history scrolls back to the start"() {
    await withServer("scroll", async (server) => {
      const dave = startClient(server.addr, "dave");
      await dave.expect("ogged in as dave");
      const alice = await newPage(server.url);
      await register(alice, "alice");
      for (let i = 0; i < 120; i++) dave.write(`/send alice note ${i}`);
      await alice.waitForSelector("#conversations button[data-key='u:dave']");
      await openWith(alice, "dave");
      await seeMessage(alice, "note 119");
      const first = await alice.$$eval("#messages li", (items) => items.length);
      assert(first < 120, `a first page, not all: ${first}`);
      for (let i = 0; i < 10 && (await countMessages(alice, "note 0")) === 0; i++) {
        await alice.$eval("#messages", (list) => { list.scrollTop = 0; });
        await alice.waitForTimeout(300);
      }
      await seeMessage(alice, "note 0");
      const all = await alice.$$eval("#messages li", (items) => items.length);
      assert(all === 120, `every message once after scrolling back: ${all}`);
      dave.stop();
    });
  },

  async "a reconnect after a restart fills the gap without duplicates"() {
    const data = tempData("restart");
    let server = await startServer({ data, keep: true });
    try {
      const alice = await newPage(server.url);
      await register(alice, "alice");
      const erin = startClient(server.addr, "erin");
      await erin.expect("ogged in as erin");
      erin.write("/send alice before the restart");
      await alice.waitForSelector("#conversations button[data-key='u:erin']");
      await openWith(alice, "erin");
      await seeMessage(alice, "before the restart");
      erin.stop();
      const addr = server.addr;
      const http = new URL(server.url).host;
      await stopServer(server);
      // Alice types while the server is down: it waits, and goes when the page is back.
      await alice.waitForFunction(() => document.getElementById("status").textContent !== "");
      await alice.fill("#text", "typed while offline");
      await alice.press("#text", "Enter");
      server = await startServer({ data, keep: true, listen: addr, http });
      // Erin writes before alice's page is back; the page's catch-up brings it, although
      // alice's own message is stored after it.
      const again = startClient(server.addr, "erin");
      await again.expect("ogged in as erin");
      again.write("/send alice while you were away");
      await again.expect("you -> alice: while you were away");
      await seeMessage(alice, "while you were away");
      await seeMessage(alice, "typed while offline");
      await again.expect("alice: typed while offline");
      await alice.waitForFunction(() => document.getElementById("status").textContent === "");
      assert((await countMessages(alice, "while you were away")) === 1, "once");
      assert((await countMessages(alice, "typed while offline")) === 1, "once");
      assert((await countMessages(alice, "before the restart")) === 1, "no duplicates");
      again.stop();
    } finally {
      await stopServer(server);
      rmSync(data, { recursive: true, force: true });
    }
  },

  async "a message holding <script> shows as text"() {
    await withServer("script", async (server) => {
      const alice = await newPage(server.url);
      const bob = await newPage(server.url);
      await register(alice, "alice");
      await register(bob, "bob");
      const nasty = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\"><b>bold</b>";
      await openWith(alice, "bob");
      await say(alice, nasty);
      await openWith(bob, "alice");
      await seeMessage(bob, nasty);
      const pwned = await bob.evaluate(() => window.pwned);
      assert(pwned === undefined, "no script ran");
      const elements = await bob.$$eval("#messages script, #messages img, #messages b", (e) => e.length);
      assert(elements === 0, "no element was made from the text");
    });
  },

  async "the page's size and its time to ready"() {
    await withServer("timing", async (server) => {
      let bytes = 0;
      for (const file of ["", "app.js", "style.css"]) {
        const response = await fetch(server.url + file);
        bytes += (await response.arrayBuffer()).byteLength;
      }
      const page = await newPage(server.url);
      await register(page, "timer");
      const readyMs = await page.evaluate(() => window.performance.now());
      const nav = await page.evaluate(() => JSON.stringify(performance.getEntriesByType("navigation")[0]));
      const domMs = JSON.parse(nav).domContentLoadedEventEnd;
      console.log(`  page: ${bytes} bytes (HTML, script, style, uncompressed); DOM ready ${domMs.toFixed(0)} ms after navigation; logged in and listed by ${readyMs.toFixed(0)} ms (registration included)`);
    });
  },
};

async function main() {
  statSync(CHROMIUM);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, headless: true });
  let failed = 0;
  try {
    for (const [name, test] of Object.entries(tests)) {
      const started = Date.now();
      try {
        await test();
        console.log(`ok   ${name} (${Date.now() - started} ms)`);
      } catch (e) {
        failed += 1;
        console.log(`FAIL ${name}: ${e.stack || e}`);
      }
    }
  } finally {
    await browser.close();
  }
  console.log(failed ? `${failed} browser test(s) failed` : "browser tests passed");
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
