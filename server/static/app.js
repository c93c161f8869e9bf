// roomcore live page: one WebSocket per page, speaking the JSON frames of the trace format
// (see server/src/frames.rs). No build step, no dependencies.
"use strict";

const $ = (id) => document.getElementById(id);
const wsScheme = location.protocol === "https:" ? "wss://" : "ws://";

// A replicated server names its group's nodes (GET /cluster): when the node this page is
// connected to goes away, the page resumes its session on the next one that answers.
const cluster = { nodes: [], at: location.host, attempts: 0 };
fetch("/cluster")
  .then((r) => (r.ok ? r.json() : null))
  .then((j) => { if (j && Array.isArray(j.nodes)) cluster.nodes = j.nodes; })
  .catch(() => { /* not a replicated server */ });

const state = {
  ws: null,
  session: "",
  token: "",
  request: 0,
  sent: new Map(),   // request -> the command, to know what a reply answers
  rooms: new Map(),  // room id -> { state, event, members: [user ids] }
  loggedIn: false,
  dropping: false,   // the user dropped the link: no automatic resume
};

function log(dir, text, cls) {
  const line = document.createElement("div");
  line.textContent = dir + " " + text;
  if (cls) line.className = cls;
  const el = $("log");
  el.appendChild(line);
  while (el.childNodes.length > 500) el.removeChild(el.firstChild);
  el.scrollTop = el.scrollHeight;
}

// What happened to this page's rooms that the member lists alone do not say: why a member
// left (left, kicked, banned, ...), why this session was put out of a room, a refused join.
function notice(text, warn) {
  const li = document.createElement("li");
  li.textContent = text;
  if (warn) li.className = "warn";
  const el = $("notices");
  el.appendChild(li);
  while (el.childNodes.length > 50) el.removeChild(el.firstChild);
  el.scrollTop = el.scrollHeight;
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = "status" + (isError ? " error" : "");
}

function send(cmd) {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
    setStatus("not connected", true);
    return;
  }
  if (cmd.type !== "resume") {
    cmd.session = state.session;
    cmd.request = ++state.request;
    state.sent.set(cmd.request, cmd);
  }
  const text = JSON.stringify(cmd);
  log("→", text, "sent");
  state.ws.send(text);
}

function open(then, host) {
  cluster.at = host || cluster.at;
  const ws = new WebSocket(wsScheme + cluster.at + "/ws");
  state.ws = ws;
  ws.onopen = then;
  ws.onmessage = (ev) => onFrame(ev.data);
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.ws = null;
    const dropped = state.dropping;
    state.dropping = false;
    if (state.loggedIn && state.token && !dropped && cluster.nodes.length > 1) {
      resumeElsewhere();
      return;
    }
    setStatus("link down" + (ev.reason ? ": " + ev.reason : "") +
      (state.loggedIn ? " (Resume to take the session back)" : ""), true);
    refreshButtons();
  };
}

// The node went away: try the next node of the group (then the next...), resuming the
// session with its token; the resume waits while the group elects a new leader.
function resumeElsewhere() {
  cluster.attempts += 1;
  if (cluster.attempts > 30) {
    cluster.attempts = 0;
    setStatus("no node of the group answers (Resume to try again)", true);
    refreshButtons();
    return;
  }
  const i = cluster.nodes.indexOf(cluster.at);
  const next = cluster.nodes[(i + 1) % cluster.nodes.length];
  setStatus("link to " + cluster.at + " lost; resuming on " + next + "...", true);
  refreshButtons();
  const delay = Math.min(100 * cluster.attempts, 1000);
  setTimeout(() => open(() => send({ type: "resume", session: state.session, token: state.token }), next), delay);
}

function onFrame(text) {
  let f;
  try { f = JSON.parse(text); } catch (e) { log("←", text, "error"); return; }
  log("←", text, f.error ? "error" : "");
  if (f.out) onOutput(f.out);
  else if (f.resume) {
    state.token = f.resume.token;
    state.loggedIn = true;
    setStatus("logged in as session " + f.resume.session);
  } else if (f.resumed) {
    state.loggedIn = true;
    cluster.attempts = 0;
    setStatus("resumed session " + f.resumed.session + " on " + cluster.at +
      (f.resumed.unknown ? " (another node held it: events may have been lost)" :
        f.resumed.gap ? " (some events were lost)" : ""));
    // After a gap, re-read every member list rather than trust the deltas.
    if (f.resumed.gap) for (const id of state.rooms.keys()) queryMembers(id, "");
  } else if (f.error) {
    // `unavailable` is a notice (the group is electing a leader): the reply follows.
    setStatus(f.error.code + ": " + f.error.message, f.error.code !== "unavailable");
  }
  refreshButtons();
  render();
}

function onOutput(out) {
  switch (out.type) {
    case "room_state_changed": {
      if (out.state === "disconnected") {
        state.rooms.delete(out.room_id);
        // `success` is a leave or the source of a switch or move; anything else put us out.
        if (out.event !== "success") notice("out of " + out.room_id + ": " + out.event, true);
      } else {
        const r = state.rooms.get(out.room_id) || { members: [] };
        r.state = out.state;
        r.event = out.event;
        state.rooms.set(out.room_id, r);
        // Joined (or back after a drop): read the member list, then follow the deltas.
        if (out.state === "connected" && out.event === "success") queryMembers(out.room_id, "");
      }
      break;
    }
    case "members_joined": {
      const r = state.rooms.get(out.room_id);
      if (r) for (const m of out.members) if (!r.members.includes(m.user_id)) r.members.push(m.user_id);
      break;
    }
    case "members_left": {
      const r = state.rooms.get(out.room_id);
      if (r) {
        const gone = new Set(out.members.map((m) => m.user_id));
        r.members = r.members.filter((u) => !gone.has(u));
        notice(out.members.map((m) => m.user_id).join(", ") + " left " + out.room_id +
          " (" + out.reason + ")", out.reason === "banned" || out.reason === "kicked");
      }
      break;
    }
    case "room_attributes_updated": {
      const r = state.rooms.get(out.room_id);
      if (r) {
        r.attributes = Object.assign({}, r.attributes || {}, out.set || {});
        for (const k of out.deleted || []) delete r.attributes[k];
      }
      break;
    }
    case "room_members_changed": {
      // A large room's coalesced delta: a set change, applied to the list we hold.
      const r = state.rooms.get(out.room_id);
      if (r) {
        const gone = new Set(out.left.map((m) => m.user_id));
        r.members = r.members.filter((u) => !gone.has(u));
        for (const m of out.joined) if (!r.members.includes(m.user_id)) r.members.push(m.user_id);
      }
      break;
    }
    case "reply":
      onReply(out);
      break;
    case "session_closed":
      state.loggedIn = false;
      state.rooms.clear();
      setStatus("session closed: " + out.reason, true);
      break;
  }
}

function onReply(out) {
  const cmd = state.sent.get(out.request);
  state.sent.delete(out.request);
  if (out.error) {
    setStatus((cmd ? cmd.type : "reply") + ": " + out.error.code, true);
    if (out.error.code === "user_banned") {
      notice("banned from " + (cmd ? (cmd.room_id || (cmd.room && cmd.room.id) || (cmd.to && cmd.to.id)) : "the room"), true);
    }
    return;
  }
  if (!cmd) return;
  // A reply that put us in a room carries the room as it is: its incarnation (sid), member
  // count and attributes, so the page needs no second call to show them.
  if (out.ok && out.ok.sid && out.ok.room) {
    const r = state.rooms.get(out.ok.room.id) || { members: [] };
    r.sid = out.ok.sid;
    r.attributes = out.ok.attributes || {};
    state.rooms.set(out.ok.room.id, r);
  }
  if (cmd.type === "query_members") {
    const r = state.rooms.get(cmd.room_id);
    if (!r) return;
    const users = out.ok.members.map((m) => m.user_id);
    // First page replaces the list (the deltas since are already in it or will follow).
    r.members = cmd.next === "" ? users : r.members.concat(users.filter((u) => !r.members.includes(u)));
    if (out.ok.next) queryMembers(cmd.room_id, out.ok.next);
  } else if (cmd.type === "login") {
    setStatus("logged in as " + out.ok.user_id);
  }
}

function queryMembers(roomId, next) {
  send({ type: "query_members", room_id: roomId, next: next, count: 100 });
}

function render() {
  const box = $("rooms");
  box.textContent = "";
  if (state.rooms.size === 0) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = "in no room";
    box.appendChild(p);
  }
  for (const [id, r] of state.rooms) {
    const div = document.createElement("div");
    div.className = "room";
    div.dataset.room = id;
    const name = document.createElement("span");
    name.className = "id";
    name.textContent = id;
    const st = document.createElement("span");
    st.className = "state " + r.state;
    st.textContent = r.state + " / " + r.event;
    const sid = document.createElement("span");
    sid.className = "sid";
    sid.textContent = r.sid ? r.sid : "";
    const attrs = document.createElement("div");
    attrs.className = "attrs";
    attrs.textContent = Object.entries(r.attributes || {}).map(([k, v]) => k + "=" + v).join("  ");
    const ul = document.createElement("ul");
    ul.className = "members";
    for (const u of r.members) {
      const li = document.createElement("li");
      li.textContent = u;
      ul.appendChild(li);
    }
    div.append(name, sid, st, attrs, ul);
    box.appendChild(div);
  }
  const sel = $("switch-from");
  const keep = sel.value;
  sel.textContent = "";
  for (const id of state.rooms.keys()) {
    const o = document.createElement("option");
    o.value = o.textContent = id;
    sel.appendChild(o);
  }
  if (state.rooms.has(keep)) sel.value = keep;
}

function refreshButtons() {
  const linked = !!state.ws && state.ws.readyState === WebSocket.OPEN;
  const inSession = linked && state.loggedIn;
  for (const id of ["create", "join", "enter", "leave", "switch", "logout", "drop"]) $(id).disabled = !inSession;
  $("login").disabled = inSession;
  $("resume").disabled = linked || !state.token;
}

function roomInfo() {
  const info = { id: $("room").value.trim() };
  const name = $("room-name").value;
  if (name) info.name = name;
  return info;
}

// The access token for `user`: the one pasted in, or, from a server started with
// --insecure-dev, one it mints for the page (POST /dev/token; 404 elsewhere).
async function accessToken(user) {
  const pasted = $("token").value.trim();
  if (pasted) return pasted;
  try {
    const r = await fetch("/dev/token", { method: "POST", body: JSON.stringify({ user: user }) });
    if (r.ok) return (await r.json()).token;
  } catch (e) { /* no dev tokens here */ }
  return "";
}

$("login").onclick = async () => {
  state.session = $("session").value.trim();
  const user = $("user").value.trim();
  const token = await accessToken(user);
  const go = () => send(token ? { type: "login", user: user, token: token } : { type: "login", user: user });
  if (state.ws && state.ws.readyState === WebSocket.OPEN) go();
  else open(() => { refreshButtons(); go(); });
};
$("logout").onclick = () => send({ type: "logout" });
$("drop").onclick = () => { if (state.ws) { state.dropping = true; state.ws.close(); } };
$("resume").onclick = () => open(() => send({ type: "resume", session: state.session, token: state.token }));
$("create").onclick = () => send({ type: "create_room", room: roomInfo() });
$("join").onclick = () => send({ type: "join_room", room_id: roomInfo().id });
$("enter").onclick = () => send({ type: "enter_room", room: roomInfo() });
$("leave").onclick = () => send({ type: "leave_room", room_id: roomInfo().id });
$("switch").onclick = () => send({
  type: "switch_room",
  from: $("switch-from").value,
  to: { id: $("switch-to").value.trim() },
  create_if_missing: $("create-if-missing").checked,
});

// The admin panel: the service's own commands through POST /admin (the admin token stays
// in this page; use it on a development server, never embed it in a page you ship).
let adminRequest = 0;
async function admin(cmd) {
  cmd.request = ++adminRequest;
  const text = JSON.stringify(cmd);
  log("→ admin", text, "sent");
  try {
    const r = await fetch("/admin", {
      method: "POST",
      headers: { "Authorization": "Bearer " + $("admin-token").value.trim(), "Content-Type": "application/json" },
      body: text,
    });
    const body = await r.text();
    log("← admin", body, r.ok && !body.includes('"error"') ? "" : "error");
    $("admin-reply").textContent = r.status + " " + body;
  } catch (e) {
    $("admin-reply").textContent = "request failed: " + e;
  }
}
const adminUsers = () => $("admin-users").value.split(",").map((u) => u.trim()).filter((u) => u);
const adminRoom = () => $("admin-room").value.trim();
$("admin-ban").onclick = () => admin({ type: "ban_users", room_id: adminRoom(), users: adminUsers(), duration_s: 600 });
$("admin-unban").onclick = () => admin({ type: "unban_users", room_id: adminRoom(), users: adminUsers() });
$("admin-move").onclick = () => admin({
  type: "move_users", from: adminRoom(), to: { id: $("admin-to").value.trim(), name: "" },
  users: adminUsers(), create_if_missing: true,
});
$("admin-query").onclick = () => admin({ type: "query_room", room_id: adminRoom() });
$("admin-list").onclick = () => admin({ type: "list_rooms", next: "", count: 100 });
// The service events (member_joined, member_left with its reason, room_created,
// room_destroyed), one a line, newest last.
$("admin-events").onclick = async () => {
  try {
    const r = await fetch("/admin/events", { headers: { "Authorization": "Bearer " + $("admin-token").value.trim() } });
    if (!r.ok) { $("admin-reply").textContent = r.status + " " + (await r.text()); return; }
    const events = (await r.json()).events;
    $("admin-reply").textContent = events.length ?
      events.map((e) => JSON.stringify(e)).join("\n") :
      "no service events (start the server with --service-events or --webhook-url)";
  } catch (e) {
    $("admin-reply").textContent = "request failed: " + e;
  }
};

$("session").value = "web-" + Math.random().toString(36).slice(2, 8);
refreshButtons();
