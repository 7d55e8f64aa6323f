// Browser tests of the chat page: the real chat-server (and chat-client) binaries, Debian's
// Chromium driven by playwright-core. Run by scripts/browser-tests.sh, which builds the
// binaries and installs what this needs. Each test prints "ok" or throws; the process exits 1
// if any failed. CHAT_BROWSER_TESTS=words runs only the tests whose names hold those words.
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
  const exited = new Promise((resolve) => child.on("exit", resolve));
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
    /** Says quit; resolves once the client has its Bye and is gone. */
    quit: () => { child.stdin.end("quit\n"); return exited; },
  };
  client.write(name);
  client.write(PASSWORD);
  return client;
}

const LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let browser;

async function newPage(url, viewport = { width: 1000, height: 700 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  // Leaving a group and handing it over ask first: the person says yes. The questions are kept.
  page.questions = [];
  page.on("dialog", (dialog) => { page.questions.push(dialog.message()); dialog.accept(); });
  await page.goto(url);
  return page;
}

/** Accounts made through chat-client, which then quits: the server has them offline. */
async function registerOffline(server, names) {
  for (const name of names) {
    const client = startClient(server.addr, name);
    await client.expect("ogged in as " + name);
    await client.quit();
  }
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

async function seeNotice(page, text) {
  await page.waitForFunction((t) => [...document.querySelectorAll("#messages .notice")]
    .some((n) => n.textContent.endsWith(t)), text);
}

async function createGroup(page, group, members) {
  await page.fill("#group-name", group);
  await page.fill("#group-members", members);
  await page.click("#group-form button");
  await page.waitForFunction((g) => document.getElementById("title").textContent === g, group);
}

/** Alice's and Bob's pages, both registered, and #crew, which Alice made with Bob in it. */
async function aliceAndBobInCrew(server) {
  const alice = await newPage(server.url);
  const bob = await newPage(server.url);
  await register(alice, "alice");
  await register(bob, "bob");
  await createGroup(alice, "#crew", "bob");
  return { alice, bob };
}

/** Opens a group from the list, and waits for its history (it starts at least with the notice
 * that added the reader), so that what others do next comes after it. */
async function openGroup(page, key) {
  await page.waitForSelector(`#conversations button[data-key='${key}']`);
  await page.click(`#conversations button[data-key='${key}']`);
  await page.waitForSelector("#messages li.notice");
}

/** Opens the members panel of the open group and waits for its list. */
async function showMembers(page) {
  if (await page.$eval("#group-panel", (panel) => panel.hidden)) await page.click("#members-toggle");
  await page.waitForSelector("#members li");
}

/** The members panel as the page shows it: name -> "role" or "role online". */
async function membersShown(page) {
  return page.$$eval("#members li", (items) => Object.fromEntries(items.map((li) => [
    li.dataset.user,
    [...li.querySelectorAll(".role, .online")].map((e) => e.textContent).join(" "),
  ])));
}

/** Waits until the members panel shows `user` with `role` (or without `user`, role null). */
async function seeMember(page, user, role) {
  await page.waitForFunction(([u, r]) => {
    const item = document.querySelector(`#members li[data-user='${u}']`);
    return r === null ? !item : item && item.querySelector(".role").textContent === r;
  }, [user, role]);
}

async function invite(page, user) {
  await page.fill("#invite-user", user);
  await page.press("#invite-user", "Enter");
}

/** Waits for `text` on an error line: the conversation's, or `where` (the group panel's...). */
async function seeError(page, text, where = "error") {
  await page.waitForFunction(([t, id]) => document.getElementById(id).textContent === t, [text, where]);
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
      await showMembers(alice);
      await invite(alice, "dave");
      await seeNotice(alice, "you added dave");
      await seeNotice(pages.bob, "alice added dave");
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
      // Each scroll to the top asks for one older page, once the one before has come: a
      // machine busy with other work may need many tries (CI met one that 10 did not cover).
      for (let i = 0; i < 60 && (await countMessages(alice, "note 0")) === 0; i++) {
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

  async "the members panel lists each member with their role"() {
    await withServer("members", async (server) => {
      await registerOffline(server, ["carol"]);
      const bob = startClient(server.addr, "bob");
      await bob.expect("ogged in as bob");
      const alice = await newPage(server.url);
      await register(alice, "alice");
      await createGroup(alice, "#crew", "bob carol");
      assert(await alice.$eval("#members-toggle", (b) => b.getAttribute("aria-expanded")) === "false",
        "the panel starts closed");
      await showMembers(alice);
      assert(await alice.$eval("#members-toggle", (b) => b.getAttribute("aria-expanded")) === "true",
        "the button says the panel is open");
      const shown = await membersShown(alice);
      assert(JSON.stringify(shown) === JSON.stringify(
        { alice: "owner online", bob: "member online", carol: "member" }), JSON.stringify(shown));
      assert(await alice.$eval("#members-title", (h) => h.textContent) === "Members of #crew (3)", "title");
      assert(await alice.$eval("#members li[data-user='alice'] .name", (n) => n.textContent) === "alice (you)",
        "the reader is marked");
      // The terminal says the same.
      bob.write("/members #crew");
      await bob.expect("Members of #crew (3):");
      bob.stop();
    });
  },

  async "an invite adds a member, who then sees the group"() {
    await withServer("invite", async (server) => {
      const alice = await newPage(server.url);
      const dave = await newPage(server.url);
      await register(alice, "alice");
      await register(dave, "dave");
      await createGroup(alice, "#crew", "");
      await showMembers(alice);
      await invite(alice, "dave");
      await seeNotice(alice, "you added dave");
      await seeMember(alice, "dave", "member");
      assert(await alice.$eval("#invite-user", (i) => i.value) === "", "the field is cleared");
      // Dave's page lists the group at once, and he can read and write in it.
      await openGroup(dave, "g:crew");
      await seeNotice(dave, "alice added you");
      await say(dave, "thanks");
      await seeMessage(alice, "thanks");
    });
  },

  async "removing a member takes the group away from them"() {
    await withServer("remove", async (server) => {
      const { alice, bob } = await aliceAndBobInCrew(server);
      await openGroup(bob, "g:crew");
      await showMembers(alice);
      await alice.click("#members button[aria-label='Remove bob']");
      await seeNotice(alice, "you removed bob");
      await seeMember(alice, "bob", null);
      // Bob sees why, can no longer write there, and the group leaves his list.
      await seeNotice(bob, "alice removed you");
      await seeError(bob, "alice removed you from #crew.");
      assert(await bob.$eval("#composer", (f) => f.hidden), "no composer");
      assert(await bob.$eval("#members-toggle", (b) => b.hidden), "no group tools");
      await bob.waitForSelector("#conversations button[data-key='g:crew']", { state: "detached" });
    });
  },

  async "leaving a group, and the owner who must hand over first"() {
    await withServer("leave", async (server) => {
      const { alice, bob } = await aliceAndBobInCrew(server);
      await openGroup(bob, "g:crew");
      await showMembers(alice);
      // The owner may not leave while others remain: the server's sentence, the group kept.
      await alice.click("#leave");
      await seeError(alice, "You own #crew: make another member the owner first (/owner #crew <user>).",
        "group-error");
      assert(await alice.$eval("#title", (t) => t.textContent) === "#crew", "still open");
      // Bob leaves: the page closes the group and says so; alice sees him go.
      await showMembers(bob);
      await bob.click("#leave");
      await bob.waitForFunction(() => document.getElementById("announce").textContent === "You left #crew.");
      assert(bob.questions.at(-1) === "Leave #crew?", bob.questions.at(-1));
      assert(await bob.$eval("#title", (t) => t.textContent) === "Pick a conversation", "closed");
      assert(await bob.$("#conversations button[data-key='g:crew']") === null, "out of the list");
      await seeNotice(alice, "bob left");
      await seeMember(alice, "bob", null);
      // The last member leaving ends the group, in the terminal's words, and is warned first.
      await alice.click("#leave");
      await alice.waitForFunction(() => document.getElementById("announce").textContent ===
        "You left #crew, its last member: the group has ended, and nobody can read its history again.");
      assert(alice.questions.at(-1) === "You are the last member of #crew: leaving ends it, " +
        "and nobody can read its history again. Leave?", alice.questions.at(-1));
      assert(await alice.$("#conversations button[data-key='g:crew']") === null, "gone from the list");
    });
  },

  async "making an admin lets them invite"() {
    await withServer("admin", async (server) => {
      await registerOffline(server, ["carol"]);
      const { alice, bob } = await aliceAndBobInCrew(server);
      await showMembers(alice);
      await alice.click("#members button[aria-label='Make admin bob']");
      await seeNotice(alice, "you made bob an admin");
      await seeMember(alice, "bob", "admin");
      assert(await alice.$("#members button[aria-label='Make admin bob']") === null,
        "no second Make admin");
      // Bob's page shows it, and his invite now goes through.
      await openGroup(bob, "g:crew");
      await seeNotice(bob, "alice made you an admin");
      await showMembers(bob);
      await seeMember(bob, "bob", "admin");
      await invite(bob, "carol");
      await seeNotice(bob, "you added carol");
      await seeMember(alice, "carol", "member");
    });
  },

  async "making an owner hands the group over"() {
    await withServer("owner", async (server) => {
      const { alice, bob } = await aliceAndBobInCrew(server);
      await openGroup(bob, "g:crew");
      await showMembers(bob);
      await showMembers(alice);
      await alice.click("#members button[aria-label='Make owner bob']");
      await seeNotice(alice, "you made bob the owner");
      assert(alice.questions.at(-1) === "Make bob the owner of #crew? You would be an admin.",
        alice.questions.at(-1));
      await seeMember(alice, "bob", "owner");
      await seeMember(alice, "alice", "admin");
      // Bob's open panel follows; nobody is offered to act on the owner.
      await seeNotice(bob, "alice made you the owner");
      await seeMember(bob, "bob", "owner");
      await seeMember(bob, "alice", "admin");
      assert(await alice.$("#members li[data-user='bob'] button") === null, "no buttons on the owner");
      // Alice, no longer the owner, may leave.
      await alice.click("#leave");
      await alice.waitForFunction(() => document.getElementById("announce").textContent === "You left #crew.");
      await seeNotice(bob, "alice left");
    });
  },

  async "a refusal shows the server's sentence"() {
    await withServer("refusal", async (server) => {
      await registerOffline(server, ["carol", "dave"]);
      const alice = await newPage(server.url);
      const bob = await newPage(server.url);
      await register(alice, "alice");
      await register(bob, "bob");
      await createGroup(alice, "#crew", "bob dave");
      await openGroup(bob, "g:crew");
      await showMembers(bob);
      // A plain member may not invite: the sentence, and the name stays typed to fix.
      await invite(bob, "carol");
      await seeError(bob, "Only the owner or an admin of #crew can invite.", "group-error");
      assert(await bob.$eval("#invite-user", (i) => i.value) === "carol", "the typed name is kept");
      await bob.click("#members button[aria-label='Remove dave']");
      await seeError(bob, "Only the owner or an admin of #crew can remove members.", "group-error");
      await bob.click("#members button[aria-label='Make admin dave']");
      await seeError(bob, "Only the owner of #crew can make admins.", "group-error");
      await bob.click("#members button[aria-label='Make owner dave']");
      await seeError(bob, "Only the owner of #crew can hand it to another member.", "group-error");
      // Nothing changed.
      const shown = await membersShown(bob);
      assert(JSON.stringify(shown) === JSON.stringify(
        { alice: "owner online", bob: "member online", dave: "member" }), JSON.stringify(shown));
      // The owner's mistakes get theirs too, and so does the form that starts a group.
      await showMembers(alice);
      await invite(alice, "nobody");
      await seeError(alice, "There is no user named nobody.", "group-error");
      await alice.fill("#group-name", "#crew");
      await alice.click("#group-form button");
      await seeError(alice, "A group named #crew exists already.", "group-form-error");
    });
  },

  async "after logging in the page says what waits unread"() {
    await withServer("away", async (server) => {
      await registerOffline(server, ["bob"]);
      const alice = await newPage(server.url);
      await register(alice, "alice");
      await createGroup(alice, "#team", "bob");
      assert(await alice.$eval("#announce", (a) => a.textContent) === "", "nothing unread: nothing said");
      await alice.context().close();
      // While she is away: one in the group, then two from bob.
      const bob = startClient(server.addr, "bob");
      await bob.expect("ogged in as bob");
      bob.write("/send #team for the team");
      await bob.expect("for the team");
      bob.write("/send alice one");
      bob.write("/send alice two");
      await bob.expect("you -> alice: two");
      bob.stop();
      const back = await newPage(server.url);
      await back.fill("#username", "alice");
      await back.fill("#password", PASSWORD);
      await back.click("#log-in");
      await back.waitForSelector("body[data-ready=true]");
      const said = await back.$eval("#announce", (a) => a.textContent);
      assert(said === "3 unread: bob 2, #team 1.", said);
      assert(await back.$eval("#announce", (a) => a.getAttribute("role")) === "status", "announced");
      // Opening a conversation puts the line away; the badges carry on.
      await openWith(back, "bob");
      assert(await back.$eval("#announce", (a) => a.textContent) === "", "put away");
      await back.waitForSelector("#conversations button[data-key='g:team'] .unread");
    });
  },

  async "after a reconnect the page says what came meanwhile"() {
    const data = tempData("away-again");
    let server = await startServer({ data, keep: true });
    try {
      await registerOffline(server, ["erin"]);
      const alice = await newPage(server.url);
      await register(alice, "alice");
      const listen = server.addr;
      const http = new URL(server.url).host;
      await stopServer(server);
      await alice.waitForFunction(() => document.getElementById("status").textContent !== "");
      // While the page knocks on the old address, erin writes through the same store elsewhere.
      server = await startServer({ data, keep: true });
      const erin = startClient(server.addr, "erin");
      await erin.expect("ogged in as erin");
      erin.write("/send alice while you were gone");
      await erin.expect("you -> alice: while you were gone");
      await erin.quit();
      await stopServer(server);
      server = await startServer({ data, keep: true, listen, http });
      await alice.waitForFunction(() => document.getElementById("status").textContent === "");
      await alice.waitForFunction(() =>
        document.getElementById("announce").textContent === "1 unread: erin 1.");
    } finally {
      await stopServer(server);
      rmSync(data, { recursive: true, force: true });
    }
  },

  async "the page has an icon, not a 404"() {
    await withServer("icon", async (server) => {
      const missing = [];
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on("response", (r) => { if (r.status() >= 400) missing.push(r.url() + " " + r.status()); });
      await page.goto(server.url);
      await register(page, "alice");
      const href = await page.$eval("link[rel=icon]", (l) => l.href);
      for (const url of [href, server.url + "favicon.ico"]) {
        const response = await page.request.get(url);
        assert(response.status() === 200, `${url}: ${response.status()}`);
        assert(response.headers()["content-type"] === "image/svg+xml", `${url}: ${response.headers()["content-type"]}`);
      }
      // It is a picture the browser draws.
      const width = await page.evaluate((url) => new Promise((resolve) => {
        const image = new Image();
        image.onload = () => resolve(image.naturalWidth);
        image.onerror = () => resolve(0);
        image.src = url;
      }), href);
      assert(width > 0, "the icon decodes");
      assert(missing.length === 0, "nothing missing: " + missing.join(", "));
      await context.close();
    });
  },

  async "the placeholders fit their fields"() {
    await withServer("placeholders", async (server) => {
      // Chromium's scrollWidth ignores a placeholder, so each is measured as the field's text.
      const overflowing = (page) => page.$$eval("input[placeholder]", (inputs) => inputs
        .filter((input) => input.offsetParent !== null)
        .map((input) => {
          const value = input.value;
          input.value = input.placeholder;
          const fits = input.scrollWidth <= input.clientWidth;
          input.value = value;
          return fits ? null : `${input.id} (${input.scrollWidth} > ${input.clientWidth})`;
        })
        .filter(Boolean));
      for (const viewport of [{ width: 1000, height: 700 }, { width: 360, height: 700 }]) {
        const page = await newPage(server.url, viewport);
        await register(page, "w" + viewport.width);
        // The sidebar's fields, then the open group's.
        const seen = await page.$$eval("input[placeholder]", (inputs) =>
          inputs.filter((i) => i.offsetParent !== null).map((i) => i.id));
        assert(seen.includes("group-name") && seen.includes("group-members"), seen.join(" "));
        let wide = await overflowing(page);
        assert(wide.length === 0, `at ${viewport.width}px: ${wide.join(", ")}`);
        await createGroup(page, "#g" + viewport.width, "");
        await showMembers(page);
        assert(await page.$eval("#invite-user", (i) => i.offsetParent !== null), "the Add field shows");
        wide = await overflowing(page);
        assert(wide.length === 0, `at ${viewport.width}px, a group open: ${wide.join(", ")}`);
        await page.context().close();
      }
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
    const only = process.env.CHAT_BROWSER_TESTS;
    for (const [name, test] of Object.entries(tests)) {
      if (only && !name.includes(only)) continue;
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
