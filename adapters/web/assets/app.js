// The chat page: one WebSocket to the server speaking the protocol's frames as JSON
// (docs/protocol.md). Everything received is shown as text (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE = 50;

const state = {
  socket: null,
  ready: false, // logged in on the current socket
  credentials: null, // { username, password }: kept in memory to log in again after a drop
  me: null,
  nextRequestId: 1,
  pending: new Map(), // request id -> { resolve, reject }
  nextClientMessageId: Math.floor(Math.random() * 2 ** 40) + 1,
  unacked: new Map(), // client message id -> { to, body }: resent after a reconnect
  conversations: new Map(), // key -> { with, last, unread }, newest first as the server lists them
  inboxComplete: true, // the server listed every conversation
  open: null, // { key, with, ids: Set, oldest, hasMore, loading, members: the count last listed }
  lastSeenId: 0, // the newest message or notice this page has seen
  retryMs: 500,
  readyAt: null,
  catchingUp: false,
};

const keyOf = (w) => (w.User !== undefined ? "u:" + w.User : "g:" + w.Group);
const nameOf = (w) => (w.User !== undefined ? w.User : "#" + w.Group);
const entryId = (e) => (e.Message ? e.Message.id : e.Notice.id);

function setStatus(text) { $("status").textContent = text; }
// An error beside what caused it: the conversation's line, or the group panel's, or the group form's.
function showError(text, where = "error") { $(where).textContent = text || ""; }
// The sidebar's line for what the page has to tell: what waits unread, a group left.
function announce(text) { $("announce").textContent = text || ""; }

// ---- the socket ----------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/ws");
  state.socket = socket;
  state.ready = false;
  // A socket replaced by a newer one is ignored, whatever it still says.
  socket.onopen = () => {
    if (state.socket !== socket) return;
    socket.send(JSON.stringify({ Hello: { magic: [67, 72, 65, 84], version: 1 } }));
  };
  socket.onmessage = (event) => { if (state.socket === socket) onFrame(JSON.parse(event.data)); };
  socket.onclose = () => {
    if (state.socket !== socket) return;
    state.ready = false;
    for (const { reject } of state.pending.values()) reject(new Error("connection lost"));
    state.pending.clear();
    if (state.credentials) {
      setStatus("reconnecting…");
      setTimeout(connect, state.retryMs);
      state.retryMs = Math.min(state.retryMs * 2, 5000);
    }
  };
}

function request(body) {
  return new Promise((resolve, reject) => {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      reject(new Error("not connected"));
      return;
    }
    const id = state.nextRequestId++;
    state.pending.set(id, { resolve, reject });
    socket.send(JSON.stringify({ Request: { id, request: body } }));
  });
}

function onFrame(frame) {
  if (frame.Welcome) {
    if (state.credentials) logIn(state.credentials, true);
  } else if (frame.Reply) {
    const waiting = state.pending.get(frame.Reply.id);
    state.pending.delete(frame.Reply.id);
    if (waiting) waiting.resolve(frame.Reply.reply);
  } else if (frame.Event) {
    onEvent(frame.Event);
  } else if (frame.Closing) {
    setStatus(frame.Closing.message);
  }
}

function onEvent(event) {
  if (event.Message) received({ Message: event.Message });
  else if (event.Notice) received({ Notice: event.Notice });
  else if (event.Ping) request("Ping").catch(() => {});
  else if (event.Read) {
    const c = state.conversations.get(keyOf(event.Read.with));
    // Read up to its newest: nothing unread. Up to less: the server knows how much is left.
    if (c && (!c.last || event.Read.up_to >= entryId(c.last))) { c.unread = 0; renderConversations(); }
    else loadConversations();
  }
}

// ---- logging in ----------------------------------------------------------------------

async function logIn(credentials, again) {
  const reply = await request({ LogIn: credentials }).catch(() => null);
  if (!reply) return;
  if (reply.LoggedIn) return loggedIn(credentials, reply.LoggedIn.username, again);
  if (again) { setStatus(reply.Error ? reply.Error.message : "cannot log in again"); return; }
  const message = reply.Error ? reply.Error.message : "Cannot log in.";
  $("login-error").textContent = reply.Error && reply.Error.code === "unknown_user"
    ? message + " Press Register to create the account." : message;
  state.credentials = null;
}

async function register(credentials) {
  const reply = await request({ Register: credentials }).catch(() => null);
  if (reply && reply.Registered) return loggedIn(credentials, reply.Registered.username, false);
  $("login-error").textContent = reply && reply.Error ? reply.Error.message : "Cannot register.";
  state.credentials = null;
}

async function loggedIn(credentials, username, again) {
  state.credentials = credentials;
  state.me = username;
  state.ready = true;
  state.retryMs = 500;
  $("login").hidden = true;
  $("app").hidden = false;
  $("me").textContent = username;
  setStatus("");
  if (again) {
    // From where this page was before the drop: a resend stored now has a newer id than what
    // others sent meanwhile, and must not move the catch-up past them.
    const since = state.lastSeenId;
    await resendUnacked();
    await catchUp(since);
  }
  await loadConversations();
  if (state.open) markRead();
  const summary = unreadSummary();
  if (summary) announce(summary);
  if (!again) {
    state.readyAt = performance.now();
    document.body.dataset.ready = "true";
  }
}

// ---- conversations -------------------------------------------------------------------

async function loadConversations() {
  const reply = await request("Conversations").catch(() => null);
  if (!reply || !reply.Conversations) return;
  state.inboxComplete = reply.Conversations.complete;
  state.conversations.clear();
  for (const c of reply.Conversations.conversations) {
    state.conversations.set(keyOf(c.with), { with: c.with, last: c.last, unread: c.unread });
    if (c.last) state.lastSeenId = Math.max(state.lastSeenId, entryId(c.last));
  }
  renderConversations();
}

// What waits, newest conversation first, as the terminal says it on login:
// "3 unread: bob 2, #team 1." The server counts up to 100 a conversation.
function unreadSummary() {
  let total = 0;
  let more = !state.inboxComplete;
  const parts = [];
  for (const c of state.conversations.values()) {
    if (c.unread <= 0) continue;
    total += c.unread;
    if (c.unread >= 100) more = true;
    parts.push(nameOf(c.with) + " " + (c.unread >= 100 ? "100+" : String(c.unread)));
  }
  if (!total) return "";
  return total + (more ? "+" : "") + " unread: " + parts.join(", ") + ".";
}

function preview(entry) {
  if (!entry) return "";
  if (entry.Message) return entry.Message.from + ": " + entry.Message.body;
  return noticeText(entry.Notice);
}

function renderConversations() {
  const list = $("conversations");
  const items = [...state.conversations.entries()].sort((a, b) =>
    (b[1].last ? entryId(b[1].last) : 0) - (a[1].last ? entryId(a[1].last) : 0));
  list.replaceChildren(...items.map(([key, c]) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.key = key;
    if (state.open && state.open.key === key) button.setAttribute("aria-current", "true");
    const text = document.createElement("span");
    const name = document.createElement("strong");
    name.textContent = nameOf(c.with);
    const last = document.createElement("span");
    last.className = "preview";
    last.textContent = preview(c.last);
    text.append(name, last);
    button.append(text);
    if (c.unread > 0) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = c.unread >= 100 ? "99+" : String(c.unread);
      badge.setAttribute("aria-label", c.unread + " unread");
      button.append(badge);
    }
    button.onclick = () => openConversation(c.with);
    item.append(button);
    return item;
  }));
}

function parseWith(text) {
  const name = text.trim().toLowerCase();
  if (!name) return null;
  return name.startsWith("#") ? { Group: name.slice(1) } : { User: name };
}

async function openConversation(w) {
  const key = keyOf(w);
  state.open = { key, with: w, ids: new Set(), oldest: null, hasMore: false, loading: false };
  $("app").classList.add("open");
  $("title").textContent = nameOf(w);
  showGroupTools(w.Group !== undefined);
  $("composer").hidden = false;
  $("messages").replaceChildren();
  showError("");
  announce("");
  if (!state.conversations.has(key)) state.conversations.set(key, { with: w, last: null, unread: 0 });
  renderConversations();
  await loadOlder();
  scrollToEnd();
  markRead();
  $("text").focus();
}

async function loadOlder() {
  const open = state.open;
  if (!open || open.loading) return;
  open.loading = true;
  const reply = await request({ History: { with: open.with, before: open.oldest, limit: PAGE } })
    .catch(() => null);
  open.loading = false;
  if (!reply || state.open !== open) return;
  if (reply.Error) { showError(reply.Error.message); return; }
  const page = reply.History
    ? { entries: reply.History.messages.map((m) => ({ Message: m })), has_more: reply.History.has_more }
    : reply.Timeline;
  open.hasMore = page.has_more;
  const list = $("messages");
  const before = list.scrollHeight - list.scrollTop;
  const fresh = page.entries.filter((e) => !open.ids.has(entryId(e)));
  fresh.forEach((e) => open.ids.add(entryId(e)));
  if (page.entries.length) open.oldest = entryId(page.entries[0]);
  list.prepend(...fresh.map(entryElement));
  list.scrollTop = list.scrollHeight - before; // keep the view where it was
}

// Back to no conversation: the list alone on a phone, "Pick a conversation" beside it.
function closeConversation() {
  state.open = null;
  $("app").classList.remove("open");
  $("title").textContent = "Pick a conversation";
  showGroupTools(false);
  $("composer").hidden = true;
  $("messages").replaceChildren();
  renderConversations();
}

function scrollToEnd() { const list = $("messages"); list.scrollTop = list.scrollHeight; }

function markRead() {
  const open = state.open;
  if (!open || !state.ready || !open.ids.size) return;
  const newest = Math.max(...open.ids);
  request({ MarkRead: { with: open.with, up_to: newest } }).catch(() => {});
  const c = state.conversations.get(open.key);
  if (c && c.unread) { c.unread = 0; renderConversations(); }
}

// ---- messages ------------------------------------------------------------------------

// A name as shown: "you" for the person logged in, as the terminal says it.
const who = (name) => (name === state.me ? "you" : name);

// A group's change in the terminal's words: "alice made bob an admin".
function noticeText(n) {
  const c = n.change;
  const actor = who(n.actor);
  if (c.Created) {
    const members = c.Created.members.map(who);
    return actor + " created the group" + (members.length ? " with " + members.join(", ") : "");
  }
  if (c.Joined) return actor + " added " + who(c.Joined.user);
  if (c.Removed) return actor + " removed " + who(c.Removed.user);
  if (c.NewOwner) return actor + " made " + who(c.NewOwner.user) + " the owner";
  if (c.NewAdmin) return actor + " made " + who(c.NewAdmin.user) + " an admin";
  return actor + " left";
}

function entryElement(entry) {
  const item = document.createElement("li");
  const time = document.createElement("span");
  time.className = "time";
  const at = entry.Message ? entry.Message.sent_at_ms : entry.Notice.at_ms;
  time.textContent = new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  item.dataset.id = String(entryId(entry));
  if (entry.Message) {
    const m = entry.Message;
    if (m.from === state.me) item.className = "mine";
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = m.from;
    const body = document.createElement("span");
    body.className = "body";
    body.textContent = m.body;
    item.append(time, from, body);
  } else {
    item.className = "notice";
    const text = document.createElement("span");
    text.textContent = noticeText(entry.Notice);
    item.append(time, text);
  }
  return item;
}

// The conversation an entry belongs to, seen from this user.
function withOf(entry) {
  if (entry.Notice) return { Group: entry.Notice.group };
  const m = entry.Message;
  if (m.to.Group !== undefined) return m.to;
  return { User: m.from === state.me ? m.to.User : m.from };
}

function received(entry) {
  const id = entryId(entry);
  state.lastSeenId = Math.max(state.lastSeenId, id);
  const w = withOf(entry);
  const key = keyOf(w);
  const c = state.conversations.get(key) || { with: w, last: null, unread: 0 };
  if (!c.last || entryId(c.last) <= id) c.last = entry;
  const open = state.open;
  const mine = entry.Message ? entry.Message.from === state.me : entry.Notice.actor === state.me;
  if (open && open.key === key) {
    if (!open.ids.has(id)) {
      open.ids.add(id);
      appendInOrder(entry);
    }
    // While catching up, marked once at the end rather than once an entry.
    if (!mine && document.visibilityState === "visible") { if (!state.catchingUp) markRead(); }
    else if (!mine) c.unread += 1;
  } else if (!mine) {
    c.unread += 1;
  }
  state.conversations.set(key, c);
  renderConversations();
  if (entry.Notice) onGroupNotice(entry.Notice);
}

function appendInOrder(entry) {
  const list = $("messages");
  const id = entryId(entry);
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const later = [...list.children].find((li) => Number(li.dataset.id) > id);
  list.insertBefore(entryElement(entry), later || null);
  if (atEnd) scrollToEnd();
}

async function send(text) {
  const open = state.open;
  if (!open || !text.trim()) return;
  const clientMessageId = state.nextClientMessageId++;
  state.unacked.set(clientMessageId, { to: open.with, body: text });
  // Not logged in (yet) on this connection: it goes with the resends once it is.
  if (!state.ready) return;
  const reply = await request({ Send: { client_message_id: clientMessageId, to: open.with, body: text } })
    .catch(() => null);
  if (!reply) return; // resent with the same number once the connection is back
  acknowledged(clientMessageId, reply, open.with, text);
}

function acknowledged(clientMessageId, reply, to, body) {
  state.unacked.delete(clientMessageId);
  if (reply.Error) { showError(reply.Error.message); return; }
  const sent = reply.Sent;
  received({ Message: { id: sent.message_id, from: state.me, to, body, sent_at_ms: sent.sent_at_ms } });
}

// After a drop: what was sent but never acknowledged goes again, with the same number, so the
// server returns the original rather than storing a copy.
async function resendUnacked() {
  for (const [clientMessageId, { to, body }] of [...state.unacked]) {
    const reply = await request({ Resend: { client_message_id: clientMessageId, to, body } })
      .catch(() => null);
    if (!reply) return;
    acknowledged(clientMessageId, reply, to, body);
  }
}

// After a drop: everything after `since` that came meanwhile, page by page, shown once each.
async function catchUp(since) {
  let after = since;
  state.catchingUp = true;
  try {
    for (;;) {
      const reply = await request({ CatchUp: { after, limit: 200 } }).catch(() => null);
      if (!reply || !reply.CaughtUp) return;
      const entries = reply.CaughtUp.entries;
      for (const entry of entries) received(entry);
      if (!reply.CaughtUp.has_more || !entries.length) return;
      after = entryId(entries[entries.length - 1]);
    }
  } finally {
    state.catchingUp = false;
  }
}

// ---- groups --------------------------------------------------------------------------
// The page offers the group changes to every member whatever their role, as the terminal does:
// the server's rules decide, and a refusal shows the server's sentence.

const ROLES = { Member: "member", Admin: "admin", Owner: "owner" };
const ENDED = (group) => "You left #" + group +
  ", its last member: the group has ended, and nobody can read its history again.";

// A notice about a group, once shown: whether it took this user out, or changed who is in.
function onGroupNotice(n) {
  const key = "g:" + n.group;
  const open = state.open && state.open.key === key;
  const left = n.change === "Left" && n.actor === state.me;
  const removed = n.change.Removed !== undefined && n.change.Removed.user === state.me;
  if (left || removed) {
    state.conversations.delete(key);
    renderConversations();
    if (left) {
      if (open) closeConversation();
      announce("You left #" + n.group + ".");
    } else if (open) {
      showGroupTools(false);
      $("composer").hidden = true;
      showError(n.actor + " removed you from #" + n.group + ".");
    }
    return;
  }
  if (!open) return;
  if (n.change.Joined !== undefined && n.change.Joined.user === state.me) {
    showGroupTools(true);
    $("composer").hidden = false;
  }
  if (!$("group-panel").hidden) loadMembers();
}

function groupEnded(group) {
  const key = "g:" + group;
  state.conversations.delete(key);
  if (state.open && state.open.key === key) closeConversation();
  else renderConversations();
  announce(ENDED(group));
}

// The Members button (for a group), and the panel it opens, closed.
function showGroupTools(group) {
  $("members-toggle").hidden = !group;
  setPanel(false);
}

function setPanel(shown) {
  $("group-panel").hidden = !shown;
  showError("", "group-error");
  $("members-toggle").setAttribute("aria-expanded", String(shown));
  if (!shown) $("members").replaceChildren();
}

async function loadMembers() {
  const open = state.open;
  if (!open || open.with.Group === undefined) return;
  const group = open.with.Group;
  const reply = await request({ Members: { group } }).catch(() => null);
  if (!reply || state.open !== open || $("group-panel").hidden) return;
  if (reply.Error) { showError(reply.Error.message, "group-error"); return; }
  renderMembers(group, reply.Members);
}

function renderMembers(group, members) {
  state.open.members = members.length;
  $("members-title").textContent = "Members of #" + group + " (" + members.length + ")";
  $("members").replaceChildren(...members.map((m) => {
    const item = document.createElement("li");
    item.dataset.user = m.username;
    const name = document.createElement("strong");
    name.className = "name";
    name.textContent = m.username === state.me ? m.username + " (you)" : m.username;
    const role = document.createElement("span");
    role.className = "role";
    role.textContent = ROLES[m.role] || String(m.role);
    item.append(name, role);
    if (m.online) {
      const online = document.createElement("span");
      online.className = "online";
      online.textContent = "online";
      item.append(online);
    }
    // Nothing to do to oneself (Leave is below) or to the owner, whom nobody removes.
    if (m.username !== state.me && m.role !== "Owner") item.append(memberActions(group, m));
    return item;
  }));
}

function memberActions(group, m) {
  const user = m.username;
  const actions = document.createElement("span");
  actions.className = "actions";
  // Named "Make admin bob": what it says, then whom (the visible words first, for voice control).
  const action = (text, run) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = text;
    button.setAttribute("aria-label", text + " " + user);
    button.onclick = run;
    actions.append(button);
  };
  if (m.role === "Member") {
    action("Make admin", () => groupChange(group, { MakeAdmin: { group, user } }));
  }
  action("Make owner", () => {
    if (confirm("Make " + user + " the owner of #" + group + "? You would be an admin.")) {
      groupChange(group, { SetOwner: { group, user } });
    }
  });
  action("Remove", () => groupChange(group, { Kick: { group, user } }));
  return actions;
}

// Sends one group change; its notice is shown like any other, a refusal on the line `where`.
// Resolves to whether it was made.
async function groupChange(group, body, where = "group-error") {
  showError("", where);
  const reply = await request(body).catch(() => null);
  if (!reply) { showError("The connection is down: try again when it is back.", where); return false; }
  if (reply.Error) { showError(reply.Error.message, where); return false; }
  if (reply.GroupChanged) received({ Notice: reply.GroupChanged });
  else if ("GroupChanged" in reply) groupEnded(group);
  return true;
}

$("members-toggle").onclick = () => {
  const shown = $("group-panel").hidden;
  setPanel(shown);
  if (shown) loadMembers();
};

$("leave").onclick = () => {
  const open = state.open;
  if (!open || open.with.Group === undefined) return;
  const group = open.with.Group;
  const question = open.members === 1
    ? "You are the last member of #" + group + ": leaving ends it, and nobody can read its history again. Leave?"
    : "Leave #" + group + "?";
  if (confirm(question)) groupChange(group, { Leave: { group } });
};

// ---- the page's controls -------------------------------------------------------------

function credentialsFromForm() {
  return { username: $("username").value.trim(), password: $("password").value };
}

$("login-form").onsubmit = (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  const credentials = credentialsFromForm();
  state.credentials = credentials;
  ensureSocket(() => logIn(credentials, false));
};

$("register").onclick = () => {
  if (!$("login-form").reportValidity()) return;
  $("login-error").textContent = "";
  const credentials = credentialsFromForm();
  state.credentials = credentials;
  ensureSocket(() => register(credentials));
};

// Runs `then` once the socket has said hello.
function ensureSocket(then) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) { then(); return; }
  // A socket on its way: the first press will be answered; ignore a second.
  if (state.socket && state.socket.readyState === WebSocket.CONNECTING) return;
  const saved = state.credentials;
  state.credentials = null; // Welcome must not log in by itself here
  connect();
  const socket = state.socket;
  const previous = socket.onmessage;
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.Welcome) {
      socket.onmessage = previous;
      state.credentials = saved;
      then();
      return;
    }
    onFrame(frame);
  };
}

$("open-form").onsubmit = (event) => {
  event.preventDefault();
  const w = parseWith($("open-with").value);
  if (w) { $("open-with").value = ""; openConversation(w); }
};

$("group-form").onsubmit = async (event) => {
  event.preventDefault();
  const group = $("group-name").value.trim().replace(/^#/, "").toLowerCase();
  const members = $("group-members").value.split(/[\s,]+/).filter(Boolean).map((m) => m.toLowerCase());
  if (!group) return;
  if (!(await groupChange(group, { CreateGroup: { group, members } }, "group-form-error"))) return;
  $("group-name").value = "";
  $("group-members").value = "";
  openConversation({ Group: group });
};

$("invite-form").onsubmit = async (event) => {
  event.preventDefault();
  const open = state.open;
  const user = $("invite-user").value.trim().toLowerCase();
  if (!open || open.with.Group === undefined || !user) return;
  const group = open.with.Group;
  if (await groupChange(group, { Invite: { group, user } })) $("invite-user").value = "";
};

$("composer").onsubmit = (event) => {
  event.preventDefault();
  const text = $("text").value;
  $("text").value = "";
  showError("");
  send(text);
};

$("text").onkeydown = (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
};

$("messages").onscroll = () => {
  const open = state.open;
  if (open && open.hasMore && $("messages").scrollTop < 40) loadOlder();
};

$("back").onclick = closeConversation;

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") markRead();
});
