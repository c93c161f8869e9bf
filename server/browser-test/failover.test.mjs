// Headless Chromium on a three-node group started with scripts/cluster.sh: two pages log in
// through the leader and share a room; the leader is killed with SIGKILL; both pages resume
// their sessions on another node by themselves and carry on (a leave is seen by the other).
// Screenshots go to out/.
//
// Usage: node failover.test.mjs
//   $BIN: the directory of roomcore-server (default ../../target/release);
//   $BASE_PORT: the nodes listen on BASE_PORT..BASE_PORT+2 (default 17101);
//   $CHROMIUM overrides /usr/bin/chromium.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, "..", "..");
const outDir = path.join(here, "out");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const args = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const clusterDir = mkdtempSync(path.join(os.tmpdir(), "roomcore-cluster-"));
const env = {
  ...process.env,
  CLUSTER_DIR: clusterDir,
  BASE_PORT: process.env.BASE_PORT || "17101",
  BIN: process.env.BIN || path.join(repo, "target", "release"),
};
const watchdog = setTimeout(() => fail(new Error("timed out after 120 s")), 120_000);
let context = null;
let userDataDir = null;

function cluster(...a) {
  return execFileSync("bash", [path.join(repo, "scripts", "cluster.sh"), ...a], { env, encoding: "utf8" });
}

const url = (id) => `http://127.0.0.1:${Number(env.BASE_PORT) + id - 1}/`;

/// The leader the `count` nodes that answer agree on.
async function leader(count = 3) {
  const token = readFileSync(path.join(clusterDir, "admin.token"), "utf8").trim();
  for (let i = 0; i < 600; i++) {
    const seen = [];
    for (const id of [1, 2, 3]) {
      try {
        const r = await fetch(url(id) + "status", { headers: { Authorization: "Bearer " + token } });
        if (r.ok) seen.push(await r.json());
      } catch (e) { /* not up yet */ }
    }
    const l = seen.find((s) => s.role === "leader");
    if (seen.length === count && l && seen.every((s) => s.leader_id === l.node_id)) return l.node_id;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no leader");
}

async function login(page, base, session, user) {
  await page.goto(base);
  await page.fill("#session", session);
  await page.fill("#user", user);
  await page.click("#login");
  await page.locator("#status", { hasText: "logged in" }).waitFor();
}

async function enter(page, room, button) {
  await page.fill("#room", room);
  await page.click(button);
  await page.locator(`[data-room="${room}"] .state`, { hasText: "connected" }).waitFor();
}

async function members(page, room, users) {
  const want = JSON.stringify(users);
  await page.waitForFunction(
    ([room, want]) => {
      const lis = document.querySelectorAll(`[data-room="${room}"] .members li`);
      return JSON.stringify([...lis].map((li) => li.textContent)) === want;
    },
    [room, want],
    { timeout: 20_000 },
  );
}

async function main() {
  mkdirSync(outDir, { recursive: true });
  console.log(cluster("start"));
  const first = await leader();
  console.log("leader: node", first);
  userDataDir = mkdtempSync(path.join(os.tmpdir(), "roomcore-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath, headless: true, args, viewport: { width: 1100, height: 760 },
  });
  context.setDefaultTimeout(20_000);
  const alice = await context.newPage();
  const bob = await context.newPage();
  await login(alice, url(first), "web-alice", "alice");
  await login(bob, url(first), "web-bob", "bob");
  await enter(alice, "r1", "#create");
  await enter(bob, "r1", "#join");
  await members(alice, "r1", ["alice", "bob"]);

  console.log(cluster("kill", String(first)));
  // Both pages find another node and resume there by themselves.
  for (const page of [alice, bob]) {
    await page.locator("#status", { hasText: "resumed session" }).waitFor();
  }
  const second = await leader(2);
  console.log("after the kill: leader node", second);
  // They carry on: bob leaves, alice sees it; alice enters another room.
  await bob.fill("#room", "r1");
  await bob.click("#leave");
  await members(alice, "r1", ["alice"]);
  await enter(alice, "r2", "#enter");
  await members(alice, "r2", ["alice"]);
  await alice.screenshot({ path: path.join(outDir, "failover-alice.png"), fullPage: true });
  await bob.screenshot({ path: path.join(outDir, "failover-bob.png"), fullPage: true });
  console.log("ok: node", first, "killed; both pages resumed elsewhere and carried on");
}

async function cleanup() {
  clearTimeout(watchdog);
  if (context) await context.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  try { cluster("clean"); } catch (e) { /* already gone */ }
  rmSync(clusterDir, { recursive: true, force: true });
}

async function fail(e) {
  console.error("failover browser test FAILED:", e.message);
  if (context) {
    for (const [i, p] of context.pages().entries()) {
      await p.screenshot({ path: path.join(outDir, `failover-failure-${i}.png`), fullPage: true }).catch(() => {});
    }
  }
  for (const id of [1, 2, 3]) {
    try { console.error(`node ${id} log:\n` + readFileSync(path.join(clusterDir, `node${id}.log`), "utf8").slice(-2000)); } catch (e) { /* none */ }
  }
  await cleanup();
  process.exit(1);
}

main().then(cleanup).catch(fail);
